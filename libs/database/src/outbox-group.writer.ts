import type { FedgateEvent } from '@fedgate/contracts';
import { GroupedCalls } from '@fedgate/platform';
import type { OutboxStore } from './outbox.store';

export interface OutboxGroupWriterOptions {
  /** Events per INSERT. */
  maxBatch: number;
  /**
   * Most events waiting for the next INSERT. One more is refused at once with 503 `overloaded`:
   * past this the database is not keeping up, and queueing would only add latency to every answer.
   */
  maxWaiting: number;
}

/**
 * Group commit for events that describe no other state (verification outcomes, decisions):
 * `append` resolves once the event is durably in the outbox, so a caller can answer only
 * after its audit event is safe. Appends that arrive while a write is in flight go
 * together in the next one (`GroupedCalls`, one INSERT in flight): one INSERT per batch under
 * load, no added delay when idle. The queue is bounded (`maxWaiting`): overflow rejects with
 * `overloaded`, never unbounded waits.
 */
export class OutboxGroupWriter {
  private readonly calls: GroupedCalls<FedgateEvent, void>;

  constructor(outbox: Pick<OutboxStore, 'appendNow'>, options: Partial<OutboxGroupWriterOptions> = {}) {
    this.calls = new GroupedCalls<FedgateEvent, void>(
      async (events) => {
        await outbox.appendNow(events);
        return events.map(() => undefined);
      },
      { maxInFlight: 1, maxBatch: options.maxBatch ?? 1000, maxWaiting: options.maxWaiting ?? 2000, name: 'audit outbox writer' },
    );
  }

  /** Events waiting for the next INSERT (for metrics and tests). */
  get queued(): number {
    return this.calls.waiting;
  }

  append(event: FedgateEvent): Promise<void> {
    return this.calls.call(event);
  }
}

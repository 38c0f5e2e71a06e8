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
  /**
   * Least time between two INSERTs' starts (GroupedCalls' `minIntervalMs`). At 1,000 answers/s
   * one INSERT in flight carries one or two events; 2 ms gathers two or three, so fewer INSERTs
   * cost the service's event loop and PostgreSQL less per answer (bench/README.md, session 17),
   * for at most 2 ms more per answer under such a stream and nothing after a quiet spell.
   */
  minIntervalMs: number;
}

/**
 * Group commit for events that describe no other state (verification outcomes, decisions):
 * `append` resolves once the event is durably in the outbox, so a caller can answer only
 * after its audit event is safe. Appends that arrive while a write is in flight go
 * together in the next one (`GroupedCalls`, one INSERT in flight, at most one started every
 * `minIntervalMs`): one INSERT per batch under load, no added delay when idle. The queue is
 * bounded (`maxWaiting`): overflow rejects with `overloaded`, never unbounded waits.
 */
export class OutboxGroupWriter {
  private readonly calls: GroupedCalls<FedgateEvent, void>;

  constructor(outbox: Pick<OutboxStore, 'appendNow'>, options: Partial<OutboxGroupWriterOptions> = {}) {
    this.calls = new GroupedCalls<FedgateEvent, void>(
      async (events) => {
        await outbox.appendNow(events);
        return events.map(() => undefined);
      },
      { maxInFlight: 1, maxBatch: options.maxBatch ?? 1000, maxWaiting: options.maxWaiting ?? 2000, minIntervalMs: options.minIntervalMs ?? 2, name: 'audit outbox writer' },
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

import { overloaded, type FedgateEvent } from '@fedgate/contracts';
import type { OutboxStore } from './outbox.store';

interface Waiting {
  event: FedgateEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

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
 * together in the next one: one INSERT per batch under load, no added delay when idle.
 * The queue is bounded (`maxWaiting`): overflow rejects with `overloaded`, never unbounded waits.
 */
export class OutboxGroupWriter {
  private waiting: Waiting[] = [];
  private writing = false;
  private readonly options: OutboxGroupWriterOptions;

  constructor(private readonly outbox: Pick<OutboxStore, 'appendNow'>, options: Partial<OutboxGroupWriterOptions> = {}) {
    this.options = { maxBatch: options.maxBatch ?? 1000, maxWaiting: options.maxWaiting ?? 2000 };
  }

  /** Events waiting for the next INSERT (for metrics and tests). */
  get queued(): number {
    return this.waiting.length;
  }

  append(event: FedgateEvent): Promise<void> {
    if (this.waiting.length >= this.options.maxWaiting) return Promise.reject(overloaded('audit outbox writer'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ event, resolve, reject });
      if (!this.writing) void this.writeNext();
    });
  }

  private async writeNext(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      try {
        await this.outbox.appendNow(batch.map((w) => w.event));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.writing = false;
  }
}

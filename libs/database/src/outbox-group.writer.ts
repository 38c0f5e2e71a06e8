import type { FedgateEvent } from '@fedgate/contracts';
import type { OutboxStore } from './outbox.store';

interface Waiting {
  event: FedgateEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for events that describe no other state (verification outcomes, decisions):
 * `append` resolves once the event is durably in the outbox, so a caller can answer only
 * after its audit event is safe. Appends that arrive while a write is in flight go
 * together in the next one: one INSERT per batch under load, no added delay when idle.
 */
export class OutboxGroupWriter {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(private readonly outbox: OutboxStore, private readonly maxBatch = 1000) {}

  append(event: FedgateEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ event, resolve, reject });
      if (!this.writing) void this.writeNext();
    });
  }

  private async writeNext(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
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

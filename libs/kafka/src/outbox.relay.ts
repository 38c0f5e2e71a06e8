import { Logger } from '@nestjs/common';
import type { OutboxEntry, OutboxStore } from '@fedgate/database';
import type { CloudEventPublisher } from './cloud-event.publisher';

export interface OutboxRelayOptions {
  batchSize: number;
  /** Pause when the outbox is empty. */
  idleMs: number;
  /** Longest pause between retries while Kafka is unreachable. */
  maxBackoffMs: number;
}

const defaults: OutboxRelayOptions = { batchSize: 500, idleMs: 200, maxBackoffMs: 5000 };

/**
 * Moves events from the PostgreSQL outbox to Kafka, oldest first, retrying with backoff
 * while Kafka is down. Delivery is at-least-once (a crash between publish and commit
 * republishes); consumers de-duplicate on the CloudEvents id.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly options: OutboxRelayOptions;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeSleeper: (() => void) | null = null;

  constructor(private readonly store: OutboxStore, private readonly publisher: CloudEventPublisher, options: Partial<OutboxRelayOptions> = {}) {
    this.options = { ...defaults, ...options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = null;
  }

  /** Cuts the idle pause short, e.g. right after events were appended. */
  wake(): void {
    this.wakeSleeper?.();
  }

  /** Publishes one batch now; throws when Kafka does not take it. */
  relayOnce(): Promise<number> {
    return this.store.relayBatch(this.options.batchSize, (entries) => this.publishInOrder(entries));
  }

  private async run(): Promise<void> {
    let backoff = 0;
    let failing = false;
    while (this.running) {
      try {
        const published = await this.relayOnce();
        if (failing) this.logger.log({ published }, 'outbox relay recovered');
        failing = false;
        backoff = 0;
        if (published < this.options.batchSize) await this.sleep(this.options.idleMs);
      } catch (err) {
        backoff = Math.min(this.options.maxBackoffMs, backoff ? backoff * 2 : 200);
        if (!failing) this.logger.warn({ reason: (err as Error).message, retry_in_ms: backoff }, 'outbox relay cannot publish; will retry');
        failing = true;
        await this.sleep(backoff);
      }
    }
  }

  // Consecutive events of one topic go in one send; topic changes keep the outbox order.
  private async publishInOrder(entries: OutboxEntry[]): Promise<void> {
    let start = 0;
    while (start < entries.length) {
      let end = start + 1;
      while (end < entries.length && entries[end].topic === entries[start].topic) end++;
      await this.publisher.publish(entries[start].topic, entries.slice(start, end).map((e) => e.event));
      start = end;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeSleeper = null;
        resolve();
      }
      this.wakeSleeper = done;
    });
  }
}

import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { TOPIC_NAMES, TOPICS_READ_BY_SERVICES, type TopicName } from '@fedgate/contracts';
import type { DeadLetter, OutboxEntry, OutboxStore } from '@fedgate/database';
import { permanentRefusalOf, type CloudEventPublisher } from './cloud-event.publisher';

export interface OutboxRelayOptions {
  batchSize: number;
  /** Pause when the outbox is empty. */
  idleMs: number;
  /** Longest pause between retries while Kafka is unreachable. */
  maxBackoffMs: number;
  /** Published events older than this are deleted from the outbox (Kafka keeps them). */
  retentionMs: number;
  /** Pause between prunes of the outbox; 0 turns pruning off. */
  pruneIntervalMs: number;
  /** Rows per DELETE statement while pruning. */
  pruneBatchSize: number;
  /**
   * The topics whose events this relay publishes: those its Kafka principal may write. The
   * outbox table is shared by the services; each relays its own topics, in order.
   */
  topics: readonly TopicName[];
  /**
   * Largest event (JSON bytes) sent to Kafka; a larger one goes to the dead-letter table
   * without a try. Below the broker's message.max.bytes (1 MiB by default) with room for the
   * record's key and headers.
   */
  maxEventBytes: number;
  /**
   * Most bytes of events in one send, so a batch never outgrows the broker's limit. Also how long
   * the relaying process's event loop is held: kafkajs encodes a send in one synchronous stretch
   * (about 40 µs an event), and every service's relay runs beside its HTTP server.
   */
  maxSendBytes: number;
  /**
   * How old the oldest waiting event of an audit-only topic (one no service reads) must be before
   * a relay takes that topic: its events leave in one batch per gatherMs, not one per poll of any
   * of the relays taking turns at it. Topics services read are taken at every poll.
   */
  gatherMs: number;
  /**
   * Longest a batch's transaction may wait on one send (RelayBatchOptions.stallTimeoutMs): a relay
   * frozen mid-batch releases its topics to the other relays after this. Above the longest send
   * kafkajs makes before it gives up (4 tries of at most 10 s, backoff between them).
   */
  stallTimeoutMs: number;
  /** Told about each event moved to the dead-letter table (a metric). */
  onDeadLetter?: (dead: DeadLetter) => void;
}

// Topics whose readers wait for their events (publishInOrder sends them first).
const ACTED_ON: ReadonlySet<string> = new Set(TOPICS_READ_BY_SERVICES);

// Pruning settings are code defaults, not configuration: an hour of published events is
// plenty to look at (Kafka holds the history) and a minute keeps each prune small.
// Batch and pause: every send, fetch and ingest costs the broker and the audit-service about the
// same whatever its size, so larger, rarer batches cost less per event (bench/README.md: 2,000
// and 500 ms took 12% less of the machine per answer at 1,000 answers/s than 500 and 200 ms).
// The price is up to half a second before an idle relay publishes; writes whose readers wait
// for them (ownership changes, consistency tokens) wake it at once.
// Sends of at most 32 KiB (about 40 decisions, 1.6 ms of encoding) instead of 512 KiB (20 ms):
// a batch then leaves in several sends with the event loop free between them. At 1,000 answers/s
// that halved the authz-service's cached p99 (bench/README.md, session 13: six alternating pairs),
// for more produce requests to Kafka, which runs at the background's lower CPU weight.
// Gathering audit-only events for 2 s: four relays (the token-service's workers, the login- and
// authz-service) publish the decisions topic, each polling on its own, so a poll's batch was a
// quarter of a pause's events. Taken once 2 s old, a batch holds 2 s of them whoever polls: the
// pipeline behind the outbox (relays, Kafka, audit ingest, PostgreSQL) cost 0.41–0.54 ms of CPU
// per event instead of 0.60–0.69 at 1,000 events/s (bench/README.md, session 21). The price is
// about 2 s more before a decision reaches the audit log; its durability is the outbox's, as before.
const defaults: OutboxRelayOptions = {
  batchSize: 2000,
  idleMs: 500,
  maxBackoffMs: 5000,
  retentionMs: 3_600_000,
  pruneIntervalMs: 60_000,
  pruneBatchSize: 1000,
  maxEventBytes: 1_000_000,
  maxSendBytes: 32 * 1024,
  topics: TOPIC_NAMES,
  gatherMs: 2000,
  stallTimeoutMs: 60_000,
};

/**
 * Moves events from the PostgreSQL outbox to Kafka, oldest first, retrying with backoff
 * while Kafka is down. Delivery is at-least-once (a crash between publish and commit
 * republishes); consumers de-duplicate on the CloudEvents id.
 *
 * Beside publishing, every `pruneIntervalMs` it deletes events published more than
 * `retentionMs` ago (`OutboxStore.prunePublished`: never unpublished or event-sourced rows),
 * so the outbox stays small. Pruning runs in a loop of its own, so a large backlog to delete
 * never delays publishing; a failed prune is logged and tried again next interval. Every
 * relay instance prunes (only one publishes at a time); concurrent prunes share the rows.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly options: OutboxRelayOptions;
  private running = false;
  private loop: Promise<void> | null = null;
  private pruning: Promise<void> | null = null;
  private stopPruning: AbortController | null = null;
  private wakeSleeper: (() => void) | null = null;
  /** A wake arrived while a batch was being taken or published: poll again before any pause. */
  private woken = false;

  constructor(private readonly store: OutboxStore, private readonly publisher: CloudEventPublisher, options: Partial<OutboxRelayOptions> = {}) {
    this.options = { ...defaults, ...options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    if (this.options.pruneIntervalMs > 0) {
      this.stopPruning = new AbortController();
      this.pruning = this.pruneEvery(this.options.pruneIntervalMs, this.stopPruning.signal);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    this.stopPruning?.abort();
    await Promise.all([this.loop, this.pruning]);
    this.loop = null;
    this.pruning = null;
    this.stopPruning = null;
  }

  /**
   * Cuts the idle pause short, e.g. right after events were appended. A wake during a batch is
   * kept: the batch may have been taken before those events were written, so the relay polls
   * again at once instead of pausing.
   */
  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  /** Publishes one batch now; throws when Kafka does not take it. */
  relayOnce(): Promise<number> {
    const { batchSize: limit, topics, gatherMs, stallTimeoutMs } = this.options;
    return this.store.relayBatch((entries, alive) => this.publishInOrder(entries, alive), { limit, topics, gatherMs, stallTimeoutMs });
  }

  private async run(): Promise<void> {
    let backoff = 0;
    let failing = false;
    while (this.running) {
      try {
        this.woken = false;
        const published = await this.relayOnce();
        if (failing) this.logger.log({ published }, 'outbox relay recovered');
        failing = false;
        backoff = 0;
        if (published < this.options.batchSize && !this.woken) await this.sleep(this.options.idleMs);
      } catch (err) {
        backoff = Math.min(this.options.maxBackoffMs, backoff ? backoff * 2 : 200);
        if (!failing) this.logger.warn({ reason: (err as Error).message, retry_in_ms: backoff }, 'outbox relay cannot publish; will retry');
        failing = true;
        await this.sleep(backoff);
      }
    }
  }

  private async pruneEvery(intervalMs: number, signal: AbortSignal): Promise<void> {
    const { retentionMs, pruneBatchSize: batchSize } = this.options;
    while (!signal.aborted) {
      try {
        const deleted = await this.store.prunePublished({ retentionMs, batchSize, signal });
        if (deleted > 0) this.logger.log({ deleted, retention_ms: retentionMs }, 'outbox pruned');
      } catch (err) {
        this.logger.warn({ reason: (err as Error).message, retry_in_ms: intervalMs }, 'outbox prune failed; will retry');
      }
      await delay(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  // Consecutive events of one topic go in one send (at most maxSendBytes); each topic's events keep
  // the outbox order. Events that services act on go before the audit-only ones taken with them
  // (TOPICS_READ_BY_SERVICES): an ownership write then waits for no decision taken before it.
  // Answers the events refused for good. `alive` after each send: the batch's transaction is not idle
  // for longer than one send (stallTimeoutMs).
  private async publishInOrder(taken: OutboxEntry[], alive: () => Promise<void>): Promise<DeadLetter[]> {
    const acted = taken.filter((e) => ACTED_ON.has(e.topic));
    const entries = acted.length === 0 || acted.length === taken.length ? taken : [...acted, ...taken.filter((e) => !ACTED_ON.has(e.topic))];
    const dead: DeadLetter[] = [];
    let run: Array<{ entry: OutboxEntry; bytes: number }> = [];
    let runBytes = 0;
    const flush = async () => {
      if (run.length > 0) {
        await this.send(run, dead);
        await alive();
      }
      run = [];
      runBytes = 0;
    };
    for (const entry of entries) {
      const bytes = Buffer.byteLength(entry.json);
      if (bytes > this.options.maxEventBytes) {
        await flush();
        this.deadLetter(dead, { entry, sizeBytes: bytes, reason: `EVENT_TOO_LARGE: ${bytes} bytes, more than the ${this.options.maxEventBytes} Kafka is sent` });
        continue;
      }
      if (run.length > 0 && (run[0]!.entry.topic !== entry.topic || runBytes + bytes > this.options.maxSendBytes)) await flush();
      run.push({ entry, bytes });
      runBytes += bytes;
    }
    await flush();
    return dead;
  }

  /** One send; when the broker refuses records for good, each is sent alone to find which. */
  private async send(run: ReadonlyArray<{ entry: OutboxEntry; bytes: number }>, dead: DeadLetter[]): Promise<void> {
    try {
      await this.publisher.publishSerialized(run[0]!.entry.topic, run.map((r) => r.entry));
    } catch (err) {
      const refusal = permanentRefusalOf(err);
      if (refusal === undefined) throw err;
      if (run.length === 1) return this.deadLetter(dead, { entry: run[0]!.entry, sizeBytes: run[0]!.bytes, reason: `${refusal}: ${(err as Error).message}` });
      for (const one of run) await this.send([one], dead);
    }
  }

  private deadLetter(dead: DeadLetter[], letter: DeadLetter): void {
    this.logger.error({ event_id: letter.entry.id, event_type: letter.entry.type, topic: letter.entry.topic, size_bytes: letter.sizeBytes, reason: letter.reason }, 'Kafka refuses an event for good; moving it to the dead-letter table');
    dead.push(letter);
    this.options.onDeadLetter?.(letter);
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

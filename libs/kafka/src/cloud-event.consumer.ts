import { Logger } from '@nestjs/common';
import { Consumer, Kafka, logLevel } from 'kafkajs';
import type { FedgateEvent } from '@fedgate/contracts';
import { ensureTopics } from './topics';
import { fromKafkaValue } from './cloud-event.serializer';
import { KafkaSettings, kafkaClientConfig, kafkaLogCreator } from './kafka-settings';
import { StallWatch } from './stall-watch';

export interface ReceivedEvent {
  event: FedgateEvent;
  topic: string;
  partition: number;
  offset: string;
}

export interface CloudEventConsumerOptions {
  groupId: string;
  /** Catalogue topics, or any other (a benchmark's scratch topic) whose messages are catalogued events. */
  topics: readonly string[];
  /** Start a new group at the beginning of the topics (projections, audit) or at the end. */
  fromBeginning: boolean;
  /**
   * How soon the broker gives up on a silent member (kafkajs default 30 s). Shorter lets a
   * restarted consumer (or broker) get its partitions back sooner; at least the broker's
   * group.min.session.timeout.ms (6 s).
   */
  sessionTimeoutMs?: number;
  /**
   * Handles one batch of one partition, in offset order. Offsets are committed only after
   * it resolves, so a crash redelivers: handlers must be idempotent on event id
   * (see `onceInMemory` / `onceInDatabase`).
   */
  handle(events: ReceivedEvent[]): Promise<void>;
  /**
   * Bytes one fetch may bring per partition and in all (kafkajs defaults 1 MiB / 10 MiB):
   * a consumer whose cost is per batch (one transaction) goes faster with larger batches.
   */
  maxBytesPerPartition?: number;
  maxBytes?: number;
  /** Silence (no fetch, heartbeat, join or batch) after which the consumer is started again; default 60 s. */
  stallMs?: number;
}

const DEFAULT_STALL_MS = 60_000;

/**
 * A kafkajs consumer of Fedgate CloudEvents. Messages that are not valid CloudEvents are
 * logged and skipped (they can never become valid by retrying); handler failures retry.
 *
 * kafkajs restarts a crashed consumer only after a retriable error. After any other (e.g.
 * "Failed to find group coordinator" while a restarted broker loads its groups, or a handler
 * error marked non-retriable) it leaves it stopped for good, silently: the audit log and the
 * projections would stop following until a restart. So a crash kafkajs does not restart is
 * restarted here, with a fresh kafkajs consumer, until it runs again or `stop()` is called.
 * So is one that hangs without a crash (`StallWatch`: no fetch, heartbeat or join for
 * `stallMs`), as kafkajs can after the process was paused past its session.
 */
export class CloudEventConsumer {
  private readonly logger: Logger;
  private readonly kafka: Kafka;
  private consumer: Consumer;
  private stopped = false;
  private restarting: Promise<void> | null = null;
  private readonly watch: StallWatch;
  private restartCount = 0;

  constructor(private readonly settings: KafkaSettings, private readonly options: CloudEventConsumerOptions) {
    this.logger = new Logger(`CloudEventConsumer:${options.groupId}`);
    this.kafka = new Kafka({ ...kafkaClientConfig(settings), logLevel: logLevel.WARN, logCreator: kafkaLogCreator });
    this.watch = new StallWatch(options.stallMs ?? DEFAULT_STALL_MS, (silentMs) => {
      if (this.stopped) return;
      this.logger.warn({ silent_ms: silentMs }, 'the Kafka consumer has not fetched, heartbeated or joined its group for a while; starting it again');
      this.restartSoon();
    });
    this.consumer = this.newConsumer();
  }

  private newConsumer(): Consumer {
    const { options } = this;
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: true,
      ...(options.sessionTimeoutMs ? { sessionTimeout: options.sessionTimeoutMs, heartbeatInterval: Math.floor(options.sessionTimeoutMs / 3) } : {}),
      ...(options.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: options.maxBytesPerPartition }),
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopped || consumer !== this.consumer) return;
      this.logger.warn({ reason: payload.error.message }, 'the Kafka consumer stopped on an error the client does not retry; starting it again');
      this.restartSoon();
    });
    for (const sign of [consumer.events.FETCH_START, consumer.events.HEARTBEAT, consumer.events.GROUP_JOIN]) {
      consumer.on(sign, () => {
        if (consumer === this.consumer) this.watch.sign();
      });
    }
    return consumer;
  }

  private restartSoon(): void {
    this.restarting ??= this.restartUntilRunning().finally(() => (this.restarting = null));
  }

  private async restartUntilRunning(): Promise<void> {
    await retryUntilStopped(
      async () => {
        // a hung consumer may never finish disconnecting: it is replaced after 5 s regardless
        await Promise.race([this.consumer.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
        this.consumer = this.newConsumer();
        await this.start();
      },
      () => this.stopped,
      this.logger,
      'the Kafka consumer did not start again',
    );
    // stop() came while it started: it may have disconnected the consumer before it ran
    if (this.stopped) await this.consumer.disconnect().catch(() => undefined);
    else {
      this.restartCount++;
      this.logger.log('the Kafka consumer runs again');
    }
  }

  /** Times it was started again after a crash kafkajs did not restart, or a silence (for tests and metrics). */
  get restarts(): number {
    return this.restartCount;
  }

  async start(): Promise<void> {
    // subscribing to a topic that does not exist yet races its auto-creation
    await ensureTopics(this.settings, this.options.topics);
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning });
    await this.consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const events: ReceivedEvent[] = [];
        for (const message of batch.messages) {
          try {
            events.push({ event: fromKafkaValue(message.value), topic: batch.topic, partition: batch.partition, offset: message.offset });
          } catch (err) {
            this.logger.warn({ topic: batch.topic, partition: batch.partition, offset: message.offset, reason: (err as Error).message }, 'skipping invalid message');
          }
        }
        if (!isRunning() || isStale()) return;
        if (events.length > 0) await this.watch.whileBusy(() => this.options.handle(events));
        const last = batch.messages.at(-1);
        if (last) resolveOffset(last.offset);
        await heartbeat();
      },
    });
    this.watch.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch.stop();
    await this.consumer.disconnect();
  }
}

/**
 * The one retry loop of a start-up step that needs Kafka (or another dependency): runs `work`
 * until it succeeds or `stopped()` says to give up (then null); waits 0.5 s longer after each
 * failure, at most 5 s.
 */
export async function retryUntilStopped<T>(work: () => Promise<T>, stopped: () => boolean, logger: Logger, notYet: string): Promise<T | null> {
  for (let attempt = 1; !stopped(); attempt++) {
    try {
      return await work();
    } catch (err) {
      logger.warn({ reason: (err as Error).message, attempt }, `${notYet}; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5000, attempt * 500)));
    }
  }
  return null;
}

/** Starts a consumer; one that fails to start is stopped again and the failure thrown (to be retried). */
export async function startOrStop(consumer: CloudEventConsumer): Promise<CloudEventConsumer> {
  try {
    await consumer.start();
  } catch (err) {
    await consumer.stop().catch(() => undefined);
    throw err;
  }
  return consumer;
}

/**
 * Starts a consumer made by `make`, retrying in the background until it runs or `stopped()`:
 * a service keeps answering while Kafka is away and starts consuming when it returns.
 * Resolves with the running consumer (null when stopped first).
 */
export function startConsumerWithRetry(make: () => CloudEventConsumer, stopped: () => boolean, logger: Logger, what: string): Promise<CloudEventConsumer | null> {
  return retryUntilStopped(() => startOrStop(make()), stopped, logger, `cannot consume ${what} yet`);
}

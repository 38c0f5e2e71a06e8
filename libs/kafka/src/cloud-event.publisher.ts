import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Kafka, Partitioners, logLevel, type Message, type Producer } from 'kafkajs';
import { DependencyUnavailableError, type FedgateEvent, type SerializedCloudEvent } from '@fedgate/contracts';
import { cloudEventMessage, serializedCloudEventMessage } from './cloud-event.serializer';
import { KAFKA_SETTINGS, KafkaSettings, kafkaClientConfig, kafkaLogCreator } from './kafka-settings';

/** Kafka did not take the events (the catalogue's 503 kafka_unavailable); the outbox keeps them. */
export class KafkaPublishError extends DependencyUnavailableError {
  constructor(description: string, options?: { cause?: unknown }) {
    super('kafka_unavailable', 'kafka', description, options);
  }
}

// Broker answers that refuse the records themselves: sending them again can never succeed.
// (An authorization or topic failure is left out on purpose: it is a setup fault to fix, and
// the events must wait for the fix, not be dropped.)
const PERMANENT_RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

/** The broker's reason when it refused records for good (too large, invalid); undefined for a failure worth retrying. */
export function permanentRefusalOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string' && PERMANENT_RECORD_ERRORS.has(type)) return type;
    current = (current as { cause?: unknown; originalError?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/**
 * Publishes CloudEvents with a kafkajs idempotent producer (acks=all, one request in flight),
 * so a retried send neither duplicates nor reorders a message. The same kafkajs client as the
 * consumers (CloudEventConsumer): one Kafka stack, one set of settings and logs.
 */
@Injectable()
export class CloudEventPublisher implements OnModuleDestroy {
  private readonly logger = new Logger(CloudEventPublisher.name);
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;

  constructor(@Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings) {}

  /** Resolves once every event is acknowledged by all in-sync replicas. */
  publish(topic: string, events: readonly FedgateEvent[]): Promise<void> {
    return this.send(topic, events.map(cloudEventMessage));
  }

  /** The same for events already serialized (the outbox relay's stored text), sent as they are. */
  publishSerialized(topic: string, events: readonly SerializedCloudEvent[]): Promise<void> {
    return this.send(topic, events.map(serializedCloudEventMessage));
  }

  private async send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = await this.connected();
    try {
      await producer.send({ topic, acks: -1, timeout: 10000, messages });
    } catch (err) {
      // an idempotent producer that failed may hold a stale sequence: start afresh next time
      await this.reset();
      throw new KafkaPublishError(`publish to ${topic} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.reset();
  }

  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    this.connecting ??= (async () => {
      const producer = new Kafka({ ...kafkaClientConfig(this.settings), logLevel: logLevel.WARN, logCreator: kafkaLogCreator }).producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
        // kafkajs's default (murmur2, as Java clients): a subject keeps its partition
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await producer.connect();
        this.producer = producer;
        return producer;
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw new KafkaPublishError(`cannot connect to Kafka: ${(err as Error).message}`);
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }

  private async reset(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    if (producer) await producer.disconnect().catch((err: Error) => this.logger.warn({ err: err.message }, 'closing Kafka producer failed'));
  }
}

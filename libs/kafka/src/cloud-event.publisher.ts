import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ClientKafka } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { DependencyUnavailableError, type FedgateEvent } from '@fedgate/contracts';
import { CloudEventKafkaSerializer } from './cloud-event.serializer';
import { KAFKA_SETTINGS, KafkaSettings, kafkaClientConfig } from './kafka-settings';

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
 * Publishes CloudEvents through Nest's ClientKafka with an idempotent producer (acks=all,
 * one request in flight), so a retried send neither duplicates nor reorders a message.
 */
@Injectable()
export class CloudEventPublisher implements OnModuleDestroy {
  private readonly logger = new Logger(CloudEventPublisher.name);
  private client: ClientKafka | null = null;
  private connecting: Promise<ClientKafka> | null = null;

  constructor(@Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings) {}

  /** Resolves once every event is acknowledged by all in-sync replicas. */
  async publish(topic: string, events: readonly FedgateEvent[]): Promise<void> {
    if (events.length === 0) return;
    const client = await this.connected();
    try {
      await lastValueFrom(client.emitBatch(topic, { messages: [...events] }), { defaultValue: undefined });
    } catch (err) {
      // a failed producer may be wedged (Nest caches the connection): start afresh next time
      await this.reset();
      throw new KafkaPublishError(`publish to ${topic} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.reset();
  }

  private async connected(): Promise<ClientKafka> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new ClientKafka({
        client: kafkaClientConfig(this.settings),
        producerOnlyMode: true,
        producer: { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true },
        send: { acks: -1, timeout: 10000 },
        serializer: new CloudEventKafkaSerializer(),
      });
      try {
        await client.connect();
        this.client = client;
        return client;
      } catch (err) {
        await client.close().catch(() => undefined);
        throw new KafkaPublishError(`cannot connect to Kafka: ${(err as Error).message}`);
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }

  private async reset(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.close().catch((err: Error) => this.logger.warn({ err: err.message }, 'closing Kafka producer failed'));
  }
}

import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { ServiceMetrics, type ReadinessCheck } from '@fedgate/platform';
import { OutboxStore } from '@fedgate/database';
import { CloudEventPublisher } from './cloud-event.publisher';
import { KAFKA_SETTINGS, KafkaSettings, kafkaClientConfig, kafkaLogCreator } from './kafka-settings';
import { OutboxRelay } from './outbox.relay';
import { ensureTopics } from './topics';

@Injectable()
export class KafkaReadinessCheck implements ReadinessCheck {
  readonly name = 'kafka';
  constructor(@Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings) {}
  async check(): Promise<void> {
    const admin = new Kafka({ ...kafkaClientConfig(this.settings), retry: { retries: 0 }, logCreator: kafkaLogCreator }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
  }
}

/**
 * Creates the catalogue's topics at start, best effort: a service must still start (and
 * report not-ready) while Kafka is down; consumers ensure their own topics again.
 */
@Injectable()
export class KafkaTopicsBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(KafkaTopicsBootstrap.name);
  constructor(@Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings) {}
  async onApplicationBootstrap(): Promise<void> {
    await ensureTopics(this.settings).catch((err: Error) => this.logger.warn({ reason: err.message }, 'could not create Kafka topics yet'));
  }
}

/** Runs the outbox relay for the lifetime of the Nest application. */
@Injectable()
export class OutboxRelayLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(readonly relay: OutboxRelay) {}
  onApplicationBootstrap(): void {
    this.relay.start();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}

export interface KafkaModuleOptions extends KafkaSettings {
  /** Run the outbox relay in this service (needs DatabaseModule). */
  outboxRelay?: boolean;
}

/**
 * One Nest module owning Kafka for every service: settings, the idempotent CloudEvent
 * publisher, the readiness check and, where the service writes events, the outbox relay.
 */
@Global()
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    const settings: KafkaSettings = { clientId: options.clientId, brokers: options.brokers };
    const relayProviders = options.outboxRelay
      ? [
          {
            provide: OutboxRelay,
            useFactory: (store: OutboxStore, publisher: CloudEventPublisher, metrics: ServiceMetrics) =>
              new OutboxRelay(store, publisher, { onDeadLetter: (dead) => metrics.outboxDeadLetters.inc({ topic: dead.entry.topic }) }),
            inject: [OutboxStore, CloudEventPublisher, ServiceMetrics],
          },
          OutboxRelayLifecycle,
        ]
      : [];
    return {
      module: KafkaModule,
      providers: [{ provide: KAFKA_SETTINGS, useValue: settings }, CloudEventPublisher, KafkaReadinessCheck, KafkaTopicsBootstrap, ...relayProviders],
      exports: [KAFKA_SETTINGS, CloudEventPublisher, KafkaReadinessCheck, ...(options.outboxRelay ? [OutboxRelay] : [])],
    };
  }
}

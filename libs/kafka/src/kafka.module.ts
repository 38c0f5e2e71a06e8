import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { topicsConsumedBy, topicsProducedBy, type KafkaServicePrincipal, type TopicName } from '@fedgate/contracts';
import { ServiceMetrics, type ReadinessCheck } from '@fedgate/platform';
import { OutboxStore } from '@fedgate/database';
import { CloudEventPublisher } from './cloud-event.publisher';
import { KAFKA_SETTINGS, KafkaSettings, kafkaClientConfig, kafkaLogCreator } from './kafka-settings';
import { OutboxRelay, type OutboxRelayOptions } from './outbox.relay';
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

const SERVICE_TOPICS = Symbol('SERVICE_TOPICS');

/**
 * Creates the service's topics at start, best effort: a service must still start (and
 * report not-ready) while Kafka is down; consumers ensure their own topics again.
 */
@Injectable()
export class KafkaTopicsBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(KafkaTopicsBootstrap.name);
  constructor(@Inject(KAFKA_SETTINGS) private readonly settings: KafkaSettings, @Inject(SERVICE_TOPICS) private readonly topics: readonly TopicName[]) {}
  async onApplicationBootstrap(): Promise<void> {
    await ensureTopics(this.settings, this.topics).catch((err: Error) => this.logger.warn({ reason: err.message }, 'could not create Kafka topics yet'));
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

/** The service's own Kafka principal (KafkaModuleOptions.service): whose consumer groups it may use. */
export const KAFKA_SERVICE = Symbol('KAFKA_SERVICE');

export interface KafkaModuleOptions {
  settings: KafkaSettings;
  /** Whose topics: those it writes (the only ones its relay publishes) and those it reads (TOPIC_CATALOGUE). */
  service: KafkaServicePrincipal;
  /**
   * Run the outbox relay in this service (needs DatabaseModule); `{ idleMs, gatherMs }` set its pause
   * when the outbox is empty and how old audit-only events grow before it takes them
   * (OutboxRelayOptions; 500 ms and 2 s by default).
   */
  outboxRelay?: boolean | ServiceRelayOptions;
}

/** The options of a service's outbox relay: only its own topics, and the pause and gathering its module asks for. */
export function outboxRelayOptions(service: KafkaServicePrincipal, relay: true | ServiceRelayOptions): Pick<OutboxRelayOptions, 'topics'> & Partial<OutboxRelayOptions> {
  // only its own topics: the events of the others are theirs to publish (and Kafka would refuse them)
  const topics = topicsProducedBy(service);
  return relay === true ? { topics } : { ...relay, topics };
}

/** What a service's module may set of its relay's options. */
export type ServiceRelayOptions = Partial<Pick<OutboxRelayOptions, 'idleMs' | 'gatherMs'>>;

/**
 * One Nest module owning Kafka for every service: settings, the idempotent CloudEvent
 * publisher, the readiness check and, where the service writes events, the outbox relay.
 */
@Global()
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    const { settings, service } = options;
    const produced = topicsProducedBy(service);
    const topics = [...new Set([...produced, ...topicsConsumedBy(service)])];
    const relay = options.outboxRelay;
    const relayProviders = relay
      ? [
          {
            provide: OutboxRelay,
            useFactory: (store: OutboxStore, publisher: CloudEventPublisher, metrics: ServiceMetrics) =>
              new OutboxRelay(store, publisher, { ...outboxRelayOptions(service, relay), onDeadLetter: (dead) => metrics.outboxDeadLetters.inc({ topic: dead.entry.topic }) }),
            inject: [OutboxStore, CloudEventPublisher, ServiceMetrics],
          },
          OutboxRelayLifecycle,
        ]
      : [];
    return {
      module: KafkaModule,
      providers: [{ provide: KAFKA_SETTINGS, useValue: settings }, { provide: KAFKA_SERVICE, useValue: service }, { provide: SERVICE_TOPICS, useValue: topics }, CloudEventPublisher, KafkaReadinessCheck, KafkaTopicsBootstrap, ...relayProviders],
      exports: [KAFKA_SETTINGS, KAFKA_SERVICE, CloudEventPublisher, KafkaReadinessCheck, ...(options.outboxRelay ? [OutboxRelay] : [])],
    };
  }
}

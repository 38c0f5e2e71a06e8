import { TOPICS, TOPIC_NAMES, type KafkaServicePrincipal, type TopicName } from '@fedgate/contracts';
import { CloudEventConsumer, type CloudEventConsumerOptions } from './cloud-event.consumer';
import type { KafkaSettings } from './kafka-settings';

/** One consumer of Fedgate events, as the code that runs it creates it (through `consumerOf`). */
export interface ConsumerDefinition {
  /** The class that handles its events: where to read what is done with them. */
  handler: string;
  /** The topics it reads. */
  topics: readonly TopicName[];
  /** The services that run it, each as its own Kafka principal (TOPIC_CATALOGUE's `consumers`). */
  principals: readonly KafkaServicePrincipal[];
  /** Where a new consumer group starts: the topics' beginning (projections, audit) or their end. */
  fromBeginning: boolean;
}

/**
 * Every consumer of Fedgate events, found by its topic here as a Nest `@EventPattern` handler
 * is by its pattern: `grep "TOPICS.login"` in this file lists every consumer of the login topic,
 * and `grep "CONSUMERS.<key>"` the code that runs it. consumers.spec.ts holds it to TOPIC_CATALOGUE.
 * (The audit checkpoint topic carries no CloudEvents: its one reader is CheckpointTopic.)
 */
export const CONSUMERS = {
  /** Revoked sessions reach every instance at once (libs/token-verification). */
  sessionRevocations: { handler: 'SessionRevocationListener', topics: [TOPICS.login], principals: ['token-service', 'authz-service'], fromBeginning: false },
  /** The bootstrap service admin granted at its first login (apps/authz-service). */
  adminByLogin: { handler: 'AuthzLifecycle.startAdminByLogin', topics: [TOPICS.login], principals: ['authz-service'], fromBeginning: false },
  /** Run ownership and grants into OpenFGA tuples and tables, replayed from the start (libs/authz). */
  ownershipProjector: { handler: 'OwnershipProjector', topics: [TOPICS.ownership], principals: ['authz-service'], fromBeginning: true },
  /** Decisions cached before an ownership change are held until it is projected (apps/authz-service). */
  decisionCacheInvalidations: { handler: 'AuthzLifecycle.startInvalidations', topics: [TOPICS.ownership], principals: ['authz-service'], fromBeginning: false },
  /**
   * Every topic into the audit log (apps/audit-service). FEDGATE_AUDIT_TOPICS and
   * FEDGATE_AUDIT_CONSUMER_START may narrow it for a scratch log or a benchmark.
   */
  auditIngest: { handler: 'AuditIngestListener', topics: TOPIC_NAMES, principals: ['audit-service'], fromBeginning: true },
} as const satisfies Record<string, ConsumerDefinition>;

export type ConsumerKey = keyof typeof CONSUMERS;

/** The registered consumers of a topic, by key. */
export function consumersOf(topic: TopicName): ConsumerKey[] {
  return (Object.keys(CONSUMERS) as ConsumerKey[]).filter((key) => (CONSUMERS[key].topics as readonly TopicName[]).includes(topic));
}

/**
 * The one way a service creates a consumer: the registered consumer's topics and start,
 * plus its group and handler. `topics`/`fromBeginning` only where a setting narrows them
 * (audit-service's FEDGATE_AUDIT_TOPICS, FEDGATE_AUDIT_CONSUMER_START).
 */
export function consumerOf(
  definition: ConsumerDefinition,
  settings: KafkaSettings,
  options: Omit<CloudEventConsumerOptions, 'topics' | 'fromBeginning'> & Partial<Pick<CloudEventConsumerOptions, 'topics' | 'fromBeginning'>>,
): CloudEventConsumer {
  return new CloudEventConsumer(settings, { topics: definition.topics, fromBeginning: definition.fromBeginning, ...options });
}

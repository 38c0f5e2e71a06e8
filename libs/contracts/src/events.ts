import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FlwrAid } from './accounts';
import { accountUser, runObject, serviceObject, serviceRunObject } from './authorization';
import { auditActorOf, type Principal } from './principals';
import {
  CLOUDEVENTS_JSON_CONTENT_TYPE,
  CLOUDEVENTS_SPEC_VERSION,
  CloudEventEnvelopeSchema,
  EVENT_DATA_CONTENT_TYPE,
  type CloudEvent,
} from './cloud-events';
import { FedgateError, type FieldIssue } from './errors';
import {
  AccessGrantedDataSchema,
  AccessRevokedDataSchema,
  AccountSeenDataSchema,
  AuditIntegrityFailedDataSchema,
  AuthzDecisionDataSchema,
  LoginDeniedDataSchema,
  LoginExpiredDataSchema,
  LoginStartedDataSchema,
  LoginSucceededDataSchema,
  RequestRefusedDataSchema,
  RunRegisteredDataSchema,
  RunSharedDataSchema,
  RunUnsharedDataSchema,
  SessionRevokedDataSchema,
  SystemTestDataSchema,
  TokenRefreshReuseDetectedDataSchema,
  TokenRefreshedDataSchema,
  TokenRejectedDataSchema,
  TokenVerifiedDataSchema,
  OutboxDeadLetteredDataSchema,
  REQUEST_REFUSED_MAX_ACTION_CHARS,
  REQUEST_REFUSED_MAX_REASON_CHARS,
  type RequestOrigin,
} from './event-data';
import { describeFieldIssues, fieldIssuesOf } from './validation';

// Topics ---------------------------------------------------------------------

/**
 * Each Fedgate service's Kafka principal (its SCRAM user name) and the prefix of every consumer
 * group it uses. Tools and tests use the operator principal, a super user (KAFKA_OPERATOR_PRINCIPAL).
 */
export const KAFKA_SERVICE_PRINCIPALS = {
  'login-service': { groupPrefix: null },
  'token-service': { groupPrefix: 'token-service-' },
  'authz-service': { groupPrefix: 'authz-' },
  'audit-service': { groupPrefix: 'audit-' },
} as const satisfies Record<string, { groupPrefix: string | null }>;
export type KafkaServicePrincipal = keyof typeof KAFKA_SERVICE_PRINCIPALS;
export const KAFKA_SERVICE_PRINCIPAL_NAMES = Object.keys(KAFKA_SERVICE_PRINCIPALS) as KafkaServicePrincipal[];
/** The principal of tools, tests and the stack scripts: may do anything (a Kafka super user). */
export const KAFKA_OPERATOR_PRINCIPAL = 'fedgate-operator';
/** The broker's own principal (its controller and inter-broker connections); a super user too. */
export const KAFKA_BROKER_PRINCIPAL = 'fedgate-broker';

/**
 * The environment variable (in .fedgate/secrets.env) holding a principal's password:
 * `login-service` → FEDGATE_KAFKA_LOGIN_SERVICE_PASSWORD, `fedgate-operator` → FEDGATE_KAFKA_OPERATOR_PASSWORD.
 */
export function kafkaPasswordVariable(principal: string): string {
  return `FEDGATE_KAFKA_${principal.replace(/^fedgate-/, '').replace(/-/g, '_').toUpperCase()}_PASSWORD`;
}

/** Every SCRAM user of the stack's Kafka: the broker, the operator and the services. */
export const KAFKA_SCRAM_USERS: readonly string[] = [KAFKA_BROKER_PRINCIPAL, KAFKA_OPERATOR_PRINCIPAL, ...KAFKA_SERVICE_PRINCIPAL_NAMES];

interface TopicDefinition {
  name: string;
  /** The only principals allowed to write it. */
  producers: readonly KafkaServicePrincipal[];
  /** The only principals allowed to read it (each within its own consumer groups). */
  consumers: readonly KafkaServicePrincipal[];
  /** Source of truth: infinite retention, no compaction (`retention.ms=-1`). */
  eventSourced?: true;
}

/**
 * Every Kafka topic with who writes and who reads it: one entry per domain. Topic names, and the
 * Kafka ACLs (kafkaAclBindings), come from here only; a new topic is one new entry.
 */
export const TOPIC_CATALOGUE = {
  /** Device login and session lifecycle: login.*, token.refreshed, token.refresh_reuse_detected, session.revoked, account.seen. */
  login: {
    name: 'fedgate.login.v1',
    producers: ['login-service'],
    // token-service and authz-service (POST /v1/authorize) refuse the tokens of revoked sessions
    consumers: ['token-service', 'authz-service', 'audit-service'],
  },
  /** Token verification outcomes: token.verified, token.rejected (high volume). */
  token: { name: 'fedgate.token.v1', producers: ['token-service'], consumers: ['audit-service'] },
  /**
   * Authorization decisions and refused requests: authz.decision, request.refused (login- and
   * token-service refuse keys without the superlink role too).
   */
  authz: { name: 'fedgate.authz.v1', producers: ['authz-service', 'login-service', 'token-service'], consumers: ['audit-service'] },
  /**
   * Run ownership and grants: run.registered / shared / unshared, access.granted / revoked.
   * Event-sourced truth: OpenFGA tuples and database tables are projections rebuilt by replay,
   * so this topic is never compacted or expired.
   */
  ownership: {
    name: 'fedgate.ownership.v1',
    producers: ['authz-service'],
    consumers: ['authz-service', 'audit-service'],
    eventSourced: true,
  },
  /**
   * Infrastructure: system.test (round-trip tests, written by the operator) and
   * outbox.dead_lettered (alerts, written by the relay of whichever service's outbox held the event).
   */
  system: { name: 'fedgate.system.v1', producers: ['login-service', 'token-service', 'authz-service'], consumers: ['audit-service'] },
  /** The audit service's alerts about its own log: audit.integrity_failed (ingested into the log like every topic). */
  audit: { name: 'fedgate.audit.v1', producers: ['audit-service'], consumers: ['audit-service'] },
} as const satisfies Record<string, TopicDefinition>;

type TopicKey = keyof typeof TOPIC_CATALOGUE;
/** Kafka topics by domain, e.g. `TOPICS.login`. */
export const TOPICS = Object.fromEntries(Object.entries(TOPIC_CATALOGUE).map(([key, t]) => [key, t.name])) as {
  readonly [K in TopicKey]: (typeof TOPIC_CATALOGUE)[K]['name'];
};
export type TopicName = (typeof TOPICS)[TopicKey];
export const TOPIC_NAMES = Object.values(TOPICS) as TopicName[];

/**
 * Not a CloudEvents topic: the audit service's signed checkpoints (one JSON AuditCheckpoint per
 * message, key `checkpoint`, one partition, oldest first), kept where a database writer cannot
 * reach them. Never deleted (`retention.ms=-1`, set at creation). Producer: audit-service.
 * Consumers: audit-service (recovers its checkpoint file from it) and outside auditors.
 */
export const AUDIT_CHECKPOINT_TOPIC = 'fedgate.audit_checkpoint.v1';

/** Every topic whose messages are kept forever, created with `retention.ms=-1`. */

/** Topics that carry no CloudEvents (no audit ingest), with who writes and reads them: for the ACLs. */
const RECORD_TOPICS: readonly TopicDefinition[] = [{ name: AUDIT_CHECKPOINT_TOPIC, producers: ['audit-service'], consumers: ['audit-service'] }];

const topicDefinitions = Object.values(TOPIC_CATALOGUE) as readonly TopicDefinition[];

/** Topics whose events are the source of truth: infinite retention, no compaction (`retention.ms=-1`). */
export const EVENT_SOURCED_TOPICS: readonly TopicName[] = topicDefinitions.filter((t) => t.eventSourced).map((t) => t.name as TopicName);

/**
 * Topics a service acts on beyond the audit log (ownership projections, session revocations): a
 * relay publishes their events before the audit-only ones it took in the same batch, since
 * readers wait for them (consistency tokens, revoked sessions). Kafka keeps no order across topics.
 */
export const TOPICS_READ_BY_SERVICES: readonly TopicName[] = topicDefinitions.filter((t) => t.consumers.some((c) => c !== 'audit-service')).map((t) => t.name as TopicName);

/** Every topic whose messages are kept forever, created with `retention.ms=-1`. */
export const TOPICS_KEPT_FOREVER: readonly string[] = [...EVENT_SOURCED_TOPICS, AUDIT_CHECKPOINT_TOPIC];

/** The event topics a service may write (its outbox relay publishes these). */
export function topicsProducedBy(principal: KafkaServicePrincipal): TopicName[] {
  return topicDefinitions.filter((t) => t.producers.includes(principal)).map((t) => t.name as TopicName);
}

const aclTopics = [...topicDefinitions, ...RECORD_TOPICS];

/** The topics a service may read. */
export function topicsConsumedBy(principal: KafkaServicePrincipal): TopicName[] {
  return topicDefinitions.filter((t) => t.consumers.includes(principal)).map((t) => t.name as TopicName);
}

/** A consumer group name of a service: its group prefix + `suffix` (the prefix is what its ACL allows). */
export function consumerGroupOf(principal: KafkaServicePrincipal, suffix: string): string {
  const prefix = KAFKA_SERVICE_PRINCIPALS[principal].groupPrefix;
  if (prefix === null) throw new Error(`${principal} consumes no topic, so it has no consumer group`);
  return `${prefix}${suffix}`;
}

/** One Kafka ACL (allow only; with allow.everyone.if.no.acl.found=false, anything else is denied). */
export interface KafkaAclBinding {
  principal: `User:${string}`;
  resourceType: 'TOPIC' | 'GROUP';
  patternType: 'LITERAL' | 'PREFIXED';
  resourceName: string;
  operation: 'WRITE' | 'READ' | 'DESCRIBE' | 'CREATE';
}

/**
 * The Kafka ACLs of the services, derived from TOPIC_CATALOGUE: a producer may WRITE its topics
 * (an idempotent producer needs nothing more since KIP-679), a consumer may READ its topics and
 * its groups (by prefix); both may DESCRIBE and CREATE the topics they use (services create
 * missing topics at start). Nothing else: no DELETE, ALTER or cluster operation.
 */
export function kafkaAclBindings(): KafkaAclBinding[] {
  const bindings: KafkaAclBinding[] = [];
  for (const principal of KAFKA_SERVICE_PRINCIPAL_NAMES) {
    const user = `User:${principal}` as const;
    const topic = (resourceName: string, operation: KafkaAclBinding['operation']): KafkaAclBinding => ({ principal: user, resourceType: 'TOPIC', patternType: 'LITERAL', resourceName, operation });
    const produced = aclTopics.filter((t) => t.producers.includes(principal)).map((t) => t.name);
    const consumed = aclTopics.filter((t) => t.consumers.includes(principal)).map((t) => t.name);
    for (const name of produced) bindings.push(topic(name, 'WRITE'));
    for (const name of consumed) bindings.push(topic(name, 'READ'));
    for (const name of new Set([...produced, ...consumed])) bindings.push(topic(name, 'DESCRIBE'), topic(name, 'CREATE'));
    const { groupPrefix } = KAFKA_SERVICE_PRINCIPALS[principal];
    if (consumed.length > 0 && groupPrefix !== null) {
      bindings.push({ principal: user, resourceType: 'GROUP', patternType: 'PREFIXED', resourceName: groupPrefix, operation: 'READ' });
    }
  }
  return bindings;
}


// Audit view of an event -----------------------------------------------------

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export const AuditOutcomeSchema = z.enum(AUDIT_OUTCOMES);

/** What the audit log records about an event besides its data. */
export interface AuditFacts {
  /** Who acted; null when nobody is known yet (e.g. a login still pending). */
  actor: { flwr_aid: FlwrAid; account_name?: string } | null;
  /** What was acted on (`run:42`, `service:superlink`), if anything. */
  object: string | null;
  /** A short verb, e.g. `login`, `run.share`, `check.can_view`. */
  action: string;
  outcome: AuditOutcome;
  decision_id?: string;
}

// Catalogue --------------------------------------------------------------------

interface EventDefinition<S extends z.ZodType> {
  topic: TopicName;
  data: S;
  description: string;
  /** The subject (= Kafka key) derived from the data, so producers cannot key an event wrongly. */
  subject: (data: z.output<S>) => string;
  audit: (data: z.output<S>) => AuditFacts;
}

// Identity function that keeps each entry's data type for inference.
const defineEvent = <S extends z.ZodType>(definition: EventDefinition<S>): EventDefinition<S> => definition;

const loginSubject = (data: { device_code_hash: string }): string => `login:${data.device_code_hash}`;
const actorOf = (flwrAid: FlwrAid | null): AuditFacts['actor'] => (flwrAid === null ? null : { flwr_aid: flwrAid });
/** A run event's object: qualified by its service when the event names one (run ids are per service). */
const runOf = (data: { run_id: string; service?: string }): string => (data.service === undefined ? runObject(data.run_id) : serviceRunObject(data.service, data.run_id));
const principalActor = (principal: Principal | null | undefined): AuditFacts['actor'] => (principal ? auditActorOf(principal) : null);

/**
 * Every Fedgate event type, with its topic, data schema, subject rule and
 * audit facts. Event type names are versioned; a breaking change is a new
 * `.v2` entry next to `.v1`.
 */
export const EVENT_CATALOGUE = {
  'fedgate.login.started.v1': defineEvent({
    topic: TOPICS.login,
    data: LoginStartedDataSchema,
    description: 'A device authorization started (flwr login / GetLoginDetails).',
    subject: loginSubject,
    audit: () => ({ actor: null, object: null, action: 'login.start', outcome: 'success' }),
  }),
  'fedgate.login.succeeded.v1': defineEvent({
    topic: TOPICS.login,
    data: LoginSucceededDataSchema,
    description: 'The user signed in at the IdP and the CLI received tokens.',
    subject: loginSubject,
    audit: (data) => ({ actor: data.account, object: null, action: 'login', outcome: 'success' }),
  }),
  'fedgate.login.denied.v1': defineEvent({
    topic: TOPICS.login,
    data: LoginDeniedDataSchema,
    description: 'The user or the IdP refused the device authorization.',
    subject: loginSubject,
    audit: () => ({ actor: null, object: null, action: 'login', outcome: 'denied' }),
  }),
  'fedgate.login.expired.v1': defineEvent({
    topic: TOPICS.login,
    data: LoginExpiredDataSchema,
    description: 'The device code expired before the user signed in.',
    subject: loginSubject,
    audit: () => ({ actor: null, object: null, action: 'login', outcome: 'failure' }),
  }),
  'fedgate.token.refreshed.v1': defineEvent({
    topic: TOPICS.login,
    data: TokenRefreshedDataSchema,
    description: 'A refresh token was exchanged for a new token set (rotation).',
    subject: (data) => accountUser(data.account.flwr_aid),
    audit: (data) => ({ actor: data.account, object: null, action: 'token.refresh', outcome: 'success' }),
  }),
  'fedgate.token.refresh_reuse_detected.v1': defineEvent({
    topic: TOPICS.login,
    data: TokenRefreshReuseDetectedDataSchema,
    description: 'An already-rotated refresh token was presented again; the session is revoked.',
    subject: (data) => accountUser(data.flwr_aid),
    audit: (data) => ({ actor: actorOf(data.flwr_aid), object: null, action: 'token.refresh', outcome: 'failure' }),
  }),
  'fedgate.session.revoked.v1': defineEvent({
    topic: TOPICS.login,
    data: SessionRevokedDataSchema,
    description: 'A session ended (logout, refresh reuse, admin); token-service caches evict its tokens.',
    subject: (data) => accountUser(data.flwr_aid),
    audit: (data) => ({
      actor: actorOf(data.flwr_aid),
      object: null,
      action: data.reason === 'logout' ? 'logout' : 'session.revoke',
      outcome: 'success',
    }),
  }),
  'fedgate.account.seen.v1': defineEvent({
    topic: TOPICS.login,
    data: AccountSeenDataSchema,
    description: "An account authenticated; carries its display name for other services.",
    subject: (data) => accountUser(data.account.flwr_aid),
    audit: (data) => ({ actor: data.account, object: null, action: 'account.seen', outcome: 'success' }),
  }),
  'fedgate.token.verified.v1': defineEvent({
    topic: TOPICS.token,
    data: TokenVerifiedDataSchema,
    description: 'An access token was verified as active.',
    subject: (data) => accountUser(data.account.flwr_aid),
    audit: (data) => ({ actor: data.account, object: null, action: 'token.verify', outcome: 'success' }),
  }),
  'fedgate.token.rejected.v1': defineEvent({
    topic: TOPICS.token,
    data: TokenRejectedDataSchema,
    description: 'An access token was refused (invalid, expired or revoked).',
    // the token hash keys the event: the claimed subject is unverified, so it names nobody
    subject: (data) => `token:${data.access_token_hash}`,
    audit: () => ({ actor: null, object: null, action: 'token.verify', outcome: 'failure' }),
  }),
  'fedgate.authz.decision.v1': defineEvent({
    topic: TOPICS.authz,
    data: AuthzDecisionDataSchema,
    description: 'One permission check and its answer (fail-closed denies included).',
    subject: (data) => accountUser(data.flwr_aid),
    audit: (data) => ({
      actor: data.account ?? actorOf(data.flwr_aid),
      object: data.object,
      action: `check.${data.relation}`,
      outcome: data.allowed ? 'success' : data.error === undefined ? 'denied' : 'failure',
      decision_id: data.decision_id,
    }),
  }),
  'fedgate.request.refused.v1': defineEvent({
    topic: TOPICS.authz,
    data: RequestRefusedDataSchema,
    description: 'A service key was used outside its roles or services, or a person may not do what was asked: 403, nothing changed.',
    subject: (data) => (data.actor.kind === 'key' ? `key:${data.actor.name}` : accountUser(data.actor.flwr_aid)),
    audit: (data) => ({ actor: auditActorOf(data.actor), object: data.object ?? null, action: data.action, outcome: 'denied' }),
  }),
  'fedgate.run.registered.v1': defineEvent({
    topic: TOPICS.ownership,
    data: RunRegisteredDataSchema,
    description: 'A run was registered; its caller owns it.',
    subject: (data) => runOf(data),
    audit: (data) => ({ actor: actorOf(data.owner), object: runOf(data), action: 'run.register', outcome: 'success' }),
  }),
  'fedgate.run.shared.v1': defineEvent({
    topic: TOPICS.ownership,
    data: RunSharedDataSchema,
    description: 'The owner gave an account a role (viewer/operator) on a run; replaces any earlier role.',
    subject: (data) => runOf(data),
    audit: (data) => ({ actor: principalActor(data.actor), object: runOf(data), action: 'run.share', outcome: 'success' }),
  }),
  'fedgate.run.unshared.v1': defineEvent({
    topic: TOPICS.ownership,
    data: RunUnsharedDataSchema,
    description: "An account's role on a run was removed.",
    subject: (data) => runOf(data),
    audit: (data) => ({ actor: principalActor(data.actor), object: runOf(data), action: 'run.unshare', outcome: 'success' }),
  }),
  'fedgate.access.granted.v1': defineEvent({
    topic: TOPICS.ownership,
    data: AccessGrantedDataSchema,
    description: 'An account became member (has_access) or admin of a service.',
    subject: (data) => accountUser(data.flwr_aid),
    audit: (data) => ({ actor: principalActor(data.actor), object: serviceObject(data.service), action: 'access.grant', outcome: 'success' }),
  }),
  'fedgate.access.revoked.v1': defineEvent({
    topic: TOPICS.ownership,
    data: AccessRevokedDataSchema,
    description: 'An account lost every role on a service.',
    subject: (data) => accountUser(data.flwr_aid),
    audit: (data) => ({ actor: principalActor(data.actor), object: serviceObject(data.service), action: 'access.revoke', outcome: 'success' }),
  }),
  'fedgate.outbox.dead_lettered.v1': defineEvent({
    topic: TOPICS.system,
    data: OutboxDeadLetteredDataSchema,
    description: 'Alert: Kafka refused an event for good; it was moved to the dead-letter table and delivery went on.',
    subject: (data) => `system:dead-letter:${data.event_id}`,
    audit: () => ({ actor: null, object: null, action: 'outbox.dead_letter', outcome: 'failure' }),
  }),
  'fedgate.audit.integrity_failed.v1': defineEvent({
    topic: TOPICS.audit,
    data: AuditIntegrityFailedDataSchema,
    description: 'The audit log no longer extends its last signed checkpoint (truncated or rewritten in the database); the service refuses to sign.',
    subject: () => 'audit:log',
    audit: () => ({ actor: null, object: 'audit:log', action: 'audit.integrity', outcome: 'failure' }),
  }),
  'fedgate.system.test.v1': defineEvent({
    topic: TOPICS.system,
    data: SystemTestDataSchema,
    description: 'Infrastructure round-trip test; not an audit fact of any user.',
    subject: (data) => `system:${data.nonce ?? 'test'}`,
    audit: () => ({ actor: null, object: null, action: 'system.test', outcome: 'success' }),
  }),
} as const;

export type EventType = keyof typeof EVENT_CATALOGUE;
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];
export const EventTypeSchema = z.enum(EVENT_TYPES as [EventType, ...EventType[]]);

export type EventData<T extends EventType> = z.output<(typeof EVENT_CATALOGUE)[T]['data']>;

/** A validated Fedgate event; with no argument, the union of all types (narrow on `type`). */
export type FedgateEvent<T extends EventType = EventType> = T extends EventType ? CloudEvent<T, EventData<T>> : never;

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.hasOwn(EVENT_CATALOGUE, value);
}

export function topicOf(type: EventType): TopicName {
  return EVENT_CATALOGUE[type].topic;
}

export function eventTypesOnTopic(topic: TopicName): EventType[] {
  return EVENT_TYPES.filter((type) => EVENT_CATALOGUE[type].topic === topic);
}

// Catalogue entries are generic per type; this view lets code index them by a runtime type.
function definitionOf(type: EventType): EventDefinition<z.ZodType> {
  return EVENT_CATALOGUE[type] as unknown as EventDefinition<z.ZodType>;
}

// Errors -------------------------------------------------------------------------

/** The event breaks the envelope or its type's data schema. */
export class InvalidEventError extends FedgateError {
  readonly fields: readonly FieldIssue[];

  constructor(description: string, fields: readonly FieldIssue[] = []) {
    super('invalid_event', description);
    this.fields = fields;
  }
}

/** The event's type is not in the catalogue (e.g. a newer producer); consumers decide to skip or park it. */
export class UnknownEventTypeError extends FedgateError {
  readonly eventType: string;

  constructor(eventType: string) {
    super('unknown_event_type', `Unknown event type '${eventType}'.`);
    this.eventType = eventType;
  }
}

// Creating and parsing -------------------------------------------------------------

/** Keys that would mean a raw secret is about to be published; data carries `*_hash` instead. */
const SECRET_KEYS = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'device_code',
  'user_code',
  'token',
  'password',
  'client_secret',
  'api_key',
]);

function findSecretKey(value: unknown, path: string): string | null {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findSecretKey(item, `${path}[${index}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      if (SECRET_KEYS.has(key)) return keyPath;
      const found = findSecretKey(item, keyPath);
      if (found) return found;
    }
  }
  return null;
}

export interface CreateCloudEventInput<T extends EventType> {
  type: T;
  /** Producer URI-reference, e.g. `/fedgate/authz-service`. */
  source: string;
  data: EventData<T>;
  /** Optional: derived from the data; if given it must equal the derived subject. */
  subject?: string;
  id?: string;
  time?: Date | string;
}

/**
 * Builds a validated event: data checked against its type's schema (unknown
 * fields dropped), secrets refused, subject derived from the data, id a UUID.
 * Throws InvalidEventError on any violation — a producer bug, not a runtime path.
 */
export function createCloudEvent<T extends EventType>(input: CreateCloudEventInput<T>): FedgateEvent<T> {
  const definition = definitionOf(input.type);
  const secretKey = findSecretKey(input.data, '');
  if (secretKey) {
    throw new InvalidEventError(`data.${secretKey}: raw secrets must not be published; send a hash`, [
      { field: `data.${secretKey}`, message: 'raw secret' },
    ]);
  }
  const parsedData = definition.data.safeParse(input.data);
  if (!parsedData.success) throw invalidEvent(parsedData.error, ['data']);
  const subject = definition.subject(parsedData.data);
  if (input.subject !== undefined && input.subject !== subject) {
    throw new InvalidEventError(`subject must be '${subject}' for ${input.type}, got '${input.subject}'`, [
      { field: 'subject', message: `must be '${subject}'` },
    ]);
  }
  const time = input.time === undefined ? new Date() : input.time;
  const candidate = {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: input.id ?? randomUUID(),
    source: input.source,
    type: input.type,
    time: typeof time === 'string' ? time : time.toISOString(),
    subject,
    datacontenttype: EVENT_DATA_CONTENT_TYPE,
    data: parsedData.data,
  };
  const envelope = CloudEventEnvelopeSchema.safeParse(candidate);
  if (!envelope.success) throw invalidEvent(envelope.error, []);
  return candidate as FedgateEvent<T>;
}

/**
 * Validates an event received from Kafka (or anywhere): envelope, then the
 * data schema of its type, then the subject rule. Unknown types throw
 * UnknownEventTypeError; everything else malformed throws InvalidEventError.
 */
export function parseEvent(input: unknown): FedgateEvent {
  const envelope = CloudEventEnvelopeSchema.safeParse(input);
  if (!envelope.success) {
    // Report an unknown type as such even when the rest is also wrong: it is the more useful answer.
    const type = (input as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && type.length > 0 && !isEventType(type) && envelopeOnlyFailsOnData(envelope.error)) {
      throw new UnknownEventTypeError(type);
    }
    throw invalidEvent(envelope.error, []);
  }
  const event = envelope.data;
  if (!isEventType(event.type)) throw new UnknownEventTypeError(event.type);
  const definition = definitionOf(event.type);
  const data = definition.data.safeParse(event.data);
  if (!data.success) throw invalidEvent(data.error, ['data']);
  const expectedSubject = definition.subject(data.data);
  if (event.subject !== expectedSubject) {
    throw new InvalidEventError(`subject must be '${expectedSubject}' for ${event.type}, got '${event.subject}'`, [
      { field: 'subject', message: `must be '${expectedSubject}'` },
    ]);
  }
  return { ...event, data: data.data } as FedgateEvent;
}

function envelopeOnlyFailsOnData(error: z.ZodError): boolean {
  return error.issues.every((issue) => issue.path[0] === 'data');
}

/** parseEvent for a Kafka message value (JSON text or bytes). */
export function parseEventJson(value: string | Uint8Array): FedgateEvent {
  const text = typeof value === 'string' ? value : new TextDecoder().decode(value);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidEventError('event is not valid JSON');
  }
  return parseEvent(json);
}

function invalidEvent(error: z.ZodError, prefix: readonly string[]): InvalidEventError {
  const fields = fieldIssuesOf(error).map(({ field, message }) => {
    const base = prefix.join('.');
    const joined = base && field ? (field.startsWith('[') ? `${base}${field}` : `${base}.${field}`) : base || field;
    return { field: joined, message };
  });
  return new InvalidEventError(describeFieldIssues(fields), fields);
}

/** Topic, key and value for publishing an event (structured-mode CloudEvents over Kafka). */
export interface EventKafkaMessage {
  topic: TopicName;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export function toKafkaMessage(event: FedgateEvent): EventKafkaMessage {
  return { topic: topicOf(event.type), ...serializedKafkaMessage(event.subject, JSON.stringify(event)) };
}

/** An event already serialized (the outbox's stored text), with what its Kafka key and headers need. */
export interface SerializedCloudEvent {
  /** CloudEvents `id`. */
  id: string;
  /** CloudEvents `type`. */
  type: string;
  /** The event's subject: its Kafka key. */
  key: string;
  /** The JSON envelope. */
  json: string;
}

/** The key, value and headers of an event already serialized (the outbox relays its stored text as it is). */
export function serializedKafkaMessage(subject: string, json: string): Omit<EventKafkaMessage, 'topic'> {
  return { key: subject, value: json, headers: { 'content-type': CLOUDEVENTS_JSON_CONTENT_TYPE } };
}

/** What the audit log records about this event (actor, object, action, outcome). */
export function auditFactsOf(event: FedgateEvent): AuditFacts {
  return definitionOf(event.type).audit(event.data);
}

// Refusals ---------------------------------------------------------------------------

/** What a refused request records (the data of `fedgate.request.refused.v1`). */
export interface RequestRefusal {
  actor: Principal;
  /** The key that carried the request, when a person acted through one. */
  client_id?: string | undefined;
  /** What was attempted, e.g. `run.register`, `POST /v1/verify`; cut to the schema's limit. */
  action: string;
  object?: string | undefined;
  /** Cut to the schema's limit. */
  reason: string;
  origin: RequestOrigin;
}

/**
 * The only builder of `fedgate.request.refused.v1` (login-, token- and authz-service alike,
 * so every refusal has the same fields). Action and reason are cut to what the schema accepts:
 * a long reason must not turn an audited 403 into a 500. The object is never cut, since a cut
 * reference would name another object; absent optional fields are left out, not undefined.
 */
export function requestRefusedEvent(source: string, refusal: RequestRefusal): FedgateEvent<'fedgate.request.refused.v1'> {
  const { actor, client_id, action, object, reason, origin } = refusal;
  return createCloudEvent({
    type: 'fedgate.request.refused.v1',
    source,
    data: {
      actor,
      ...(client_id === undefined ? {} : { client_id }),
      action: cutText(action, REQUEST_REFUSED_MAX_ACTION_CHARS),
      ...(object === undefined ? {} : { object }),
      reason: cutText(reason, REQUEST_REFUSED_MAX_REASON_CHARS),
      origin,
    },
  });
}

/** At most `max` UTF-16 units (what zod's max counts), never ending on half a surrogate pair. */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudEventEnvelopeSchema } from './cloud-events';
import { FedgateError } from './errors';
import {
  EVENT_CATALOGUE,
  EVENT_SOURCED_TOPICS,
  EVENT_TYPES,
  InvalidEventError,
  KAFKA_SERVICE_PRINCIPAL_NAMES,
  TOPICS,
  TOPICS_READ_BY_SERVICES,
  TOPIC_NAMES,
  UnknownEventTypeError,
  auditFactsOf,
  consumerGroupOf,
  createCloudEvent,
  eventTypesOnTopic,
  kafkaAclBindings,
  parseEvent,
  parseEventJson,
  requestRefusedEvent,
  toKafkaMessage,
  topicOf,
  topicsConsumedBy,
  topicsProducedBy,
  type EventData,
  type EventType,
} from './events';
import { REQUEST_REFUSED_MAX_ACTION_CHARS, REQUEST_REFUSED_MAX_REASON_CHARS, RequestRefusedDataSchema } from './event-data';
import { sha256Hex } from './tokens';

const alice = { flwr_aid: 'alice', account_name: 'Alice' };
const hash = (value: string) => sha256Hex(value);
const decisionId = '3b241101-e2bb-4255-8caf-4136c566a962';

/** One valid data sample per event type; the test below fails if a type lacks one. */
const SAMPLES: { [T in EventType]: EventData<T> } = {
  'fedgate.login.started.v1': { device_code_hash: hash('dc'), scope: 'openid', expires_in: 600, interval: 5, idp_issuer: 'https://idp.example' },
  'fedgate.login.succeeded.v1': {
    device_code_hash: hash('dc'),
    account: alice,
    session_id: 's1',
    access_token_hash: hash('at'),
    refresh_token_hash: hash('rt'),
    expires_in: 300,
  },
  'fedgate.login.denied.v1': { device_code_hash: hash('dc'), error: 'access_denied', error_description: 'user said no' },
  'fedgate.login.expired.v1': { device_code_hash: hash('dc') },
  'fedgate.token.refreshed.v1': {
    account: alice,
    session_id: 's1',
    previous_refresh_token_hash: hash('rt'),
    access_token_hash: hash('at2'),
    refresh_token_hash: hash('rt2'),
    expires_in: 300,
  },
  'fedgate.token.refresh_reuse_detected.v1': { flwr_aid: 'alice', session_id: 's1', refresh_token_hash: hash('rt') },
  'fedgate.session.revoked.v1': { flwr_aid: 'alice', session_id: 's1', idp_sid: 'idp-session-1', reason: 'logout', token_hashes: [hash('at'), hash('rt')] },
  'fedgate.account.seen.v1': { account: alice },
  'fedgate.token.verified.v1': { account: alice, access_token_hash: hash('at'), scope: 'openid', expires_at: 1_900_000_000, method: 'jwt', cached: false },
  'fedgate.token.rejected.v1': { access_token_hash: hash('bad'), error: 'invalid_token', error_description: 'bad signature' },
  'fedgate.authz.decision.v1': {
    decision_id: decisionId,
    flwr_aid: 'alice',
    relation: 'can_view',
    object: 'run:42',
    allowed: false,
    endpoint: 'check',
    cached: false,
  },
  'fedgate.run.registered.v1': { run_id: '42', owner: 'alice', service: 'superlink' },
  'fedgate.request.refused.v1': { actor: { kind: 'key', name: 'superlink-a' }, action: 'access.grant', object: 'service:superlink-b', reason: 'not its service' },
  'fedgate.run.shared.v1': { run_id: '42', flwr_aid: 'bob', role: 'viewer', actor: { kind: 'person', flwr_aid: 'alice', account_name: 'Alice' } },
  'fedgate.run.unshared.v1': { run_id: '42', flwr_aid: 'bob', actor: { kind: 'person', flwr_aid: 'alice' } },
  'fedgate.access.granted.v1': { service: 'superlink', flwr_aid: 'bob', role: 'member', actor: null },
  'fedgate.access.revoked.v1': { service: 'superlink', flwr_aid: 'bob', actor: { kind: 'key', name: 'operator' } },
  'fedgate.outbox.dead_lettered.v1': { event_id: decisionId, event_type: 'fedgate.session.revoked.v1', topic: 'fedgate.login.v1', size_bytes: 1_200_000, reason: 'EVENT_TOO_LARGE' },
  'fedgate.system.test.v1': { message: 'ping', nonce: 'n1' },
  'fedgate.audit.integrity_failed.v1': { problem: 'truncated', first_bad_seq: 11, truncated_at: 11, key_id: 'f5f919833b44a3a60cb73215a53e50dc', checkpoint: { seq: 20, head_hash: 'a'.repeat(64) }, head: { seq: 10, hash: 'b'.repeat(64) } },
};

const source = '/fedgate/test';

describe('topic catalogue', () => {
  it('maps every event type to exactly one known topic', () => {
    for (const type of EVENT_TYPES) {
      const onTopics = TOPIC_NAMES.filter((topic) => eventTypesOnTopic(topic).includes(type));
      assert.deepEqual(onTopics, [topicOf(type)], type);
    }
  });

  it('leaves no topic empty and names everything in the fedgate namespace, versioned', () => {
    for (const topic of TOPIC_NAMES) {
      assert.ok(eventTypesOnTopic(topic).length > 0, topic);
      assert.match(topic, /^fedgate\.[a-z_]+\.v\d+$/);
    }
    for (const type of EVENT_TYPES) assert.match(type, /^fedgate\.[a-z_]+\.[a-z_]+\.v\d+$/);
  });

  it('contains the required event types on their domain topics', () => {
    const expected: Record<string, string> = {
      'fedgate.login.started.v1': TOPICS.login,
      'fedgate.login.succeeded.v1': TOPICS.login,
      'fedgate.login.denied.v1': TOPICS.login,
      'fedgate.login.expired.v1': TOPICS.login,
      'fedgate.token.refreshed.v1': TOPICS.login,
      'fedgate.token.refresh_reuse_detected.v1': TOPICS.login,
      'fedgate.session.revoked.v1': TOPICS.login,
      'fedgate.account.seen.v1': TOPICS.login,
      'fedgate.token.verified.v1': TOPICS.token,
      'fedgate.token.rejected.v1': TOPICS.token,
      'fedgate.authz.decision.v1': TOPICS.authz,
      'fedgate.request.refused.v1': TOPICS.authz,
      'fedgate.run.registered.v1': TOPICS.ownership,
      'fedgate.run.shared.v1': TOPICS.ownership,
      'fedgate.run.unshared.v1': TOPICS.ownership,
      'fedgate.access.granted.v1': TOPICS.ownership,
      'fedgate.access.revoked.v1': TOPICS.ownership,
      'fedgate.outbox.dead_lettered.v1': 'fedgate.system.v1',
      'fedgate.system.test.v1': 'fedgate.system.v1',
      'fedgate.audit.integrity_failed.v1': 'fedgate.audit.v1',
    };
    assert.deepEqual([...EVENT_TYPES].sort(), Object.keys(expected).sort());
    for (const [type, topic] of Object.entries(expected)) assert.equal(topicOf(type as EventType), topic, type);
    assert.deepEqual(EVENT_SOURCED_TOPICS, [TOPICS.ownership]);
    // published first by a relay: the projector and the revocation listeners wait for these
    assert.deepEqual(TOPICS_READ_BY_SERVICES, [TOPICS.login, TOPICS.ownership]);
  });
});

describe('Kafka ACLs from the topic catalogue', () => {
  const acls = kafkaAclBindings();
  const allowed = (principal: string, operation: string, resourceName: string) =>
    acls.some((a) => a.principal === `User:${principal}` && a.resourceType === 'TOPIC' && a.operation === operation && a.resourceName === resourceName);

  it('lets each service write exactly the topics it produces and read exactly those it consumes', () => {
    for (const principal of KAFKA_SERVICE_PRINCIPAL_NAMES) {
      for (const topic of TOPIC_NAMES) {
        assert.equal(allowed(principal, 'WRITE', topic), topicsProducedBy(principal).includes(topic), `${principal} WRITE ${topic}`);
        assert.equal(allowed(principal, 'READ', topic), topicsConsumedBy(principal).includes(topic), `${principal} READ ${topic}`);
      }
    }
  });

  it('gives the ownership topic (the admin grants) one writer, the authz-service', () => {
    const writers = acls.filter((a) => a.resourceName === TOPICS.ownership && a.operation === 'WRITE').map((a) => a.principal);
    assert.deepEqual(writers, ['User:authz-service']);
    assert.equal(allowed('token-service', 'WRITE', TOPICS.ownership), false);
    assert.equal(allowed('token-service', 'READ', TOPICS.ownership), false);
    assert.equal(allowed('token-service', 'READ', TOPICS.authz), false);
  });

  it('lets the audit-service read every topic and write only its own alerts', () => {
    assert.deepEqual(topicsConsumedBy('audit-service'), TOPIC_NAMES);
    assert.deepEqual(topicsProducedBy('audit-service'), [TOPICS.audit]);
  });

  it('allows only topic and group operations a service needs, each once', () => {
    const keys = acls.map((a) => `${a.principal} ${a.resourceType} ${a.patternType} ${a.resourceName} ${a.operation}`);
    assert.equal(new Set(keys).size, keys.length, 'duplicate ACLs');
    for (const acl of acls) {
      assert.ok(['WRITE', 'READ', 'DESCRIBE', 'CREATE'].includes(acl.operation), `${acl.operation}`);
      if (acl.resourceType === 'GROUP') assert.equal(acl.operation, 'READ');
    }
    // the consumer groups the services use are inside their own prefixes
    for (const [principal, suffix] of [['token-service', 'revocations-1'], ['authz-service', 'projector-g1'], ['audit-service', 'service']] as const) {
      const group = consumerGroupOf(principal, suffix);
      assert.ok(acls.some((a) => a.principal === `User:${principal}` && a.resourceType === 'GROUP' && group.startsWith(a.resourceName)), group);
    }
    assert.equal(consumerGroupOf('audit-service', 'service'), 'audit-service', "the audit log's default group");
    assert.throws(() => consumerGroupOf('login-service', 'x'), /consumes no topic/);
  });
});

describe('createCloudEvent', () => {
  it('builds a valid CloudEvents 1.0 envelope for every type', () => {
    for (const type of EVENT_TYPES) {
      const event = createCloudEvent({ type, source, data: SAMPLES[type] as never });
      assert.equal(event.specversion, '1.0');
      assert.equal(event.datacontenttype, 'application/json');
      assert.match(event.id, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(event.time)));
      assert.ok(CloudEventEnvelopeSchema.safeParse(event).success, type);
      assert.deepEqual(parseEvent(JSON.parse(JSON.stringify(event))), event, type);
    }
  });

  it('derives the subject (= Kafka key) from the data', () => {
    const run = createCloudEvent({ type: 'fedgate.run.shared.v1', source, data: SAMPLES['fedgate.run.shared.v1'] });
    assert.equal(run.subject, 'run:42');
    const login = createCloudEvent({ type: 'fedgate.login.started.v1', source, data: SAMPLES['fedgate.login.started.v1'] });
    assert.equal(login.subject, `login:${hash('dc')}`);
    const grant = createCloudEvent({ type: 'fedgate.access.granted.v1', source, data: SAMPLES['fedgate.access.granted.v1'] });
    assert.equal(grant.subject, 'flwr_aid:bob');
    const anonymous = createCloudEvent({ type: 'fedgate.token.rejected.v1', source, data: SAMPLES['fedgate.token.rejected.v1'] });
    assert.equal(anonymous.subject, `token:${hash('bad')}`);
    const message = toKafkaMessage(run);
    assert.equal(message.key, 'run:42');
    assert.equal(message.topic, 'fedgate.ownership.v1');
    assert.deepEqual(JSON.parse(message.value), run);
  });

  it('keeps given id, time and a matching subject; refuses a mismatching subject', () => {
    const event = createCloudEvent({
      type: 'fedgate.run.registered.v1',
      source,
      subject: 'run:superlink/42',
      id: 'fixed-id',
      time: new Date('2030-01-02T03:04:05.000Z'),
      data: SAMPLES['fedgate.run.registered.v1'],
    });
    assert.equal(event.id, 'fixed-id');
    assert.equal(event.time, '2030-01-02T03:04:05.000Z');
    assert.throws(
      () => createCloudEvent({ type: 'fedgate.run.registered.v1', source, subject: 'run:43', data: SAMPLES['fedgate.run.registered.v1'] }),
      InvalidEventError,
    );
  });

  it('gives each event a fresh id', () => {
    const data = SAMPLES['fedgate.system.test.v1'];
    assert.notEqual(createCloudEvent({ type: 'fedgate.system.test.v1', source, data }).id, createCloudEvent({ type: 'fedgate.system.test.v1', source, data }).id);
  });

  it('refuses raw tokens and invalid data', () => {
    const withToken = { ...SAMPLES['fedgate.token.verified.v1'], access_token: 'eyJraw' };
    assert.throws(() => createCloudEvent({ type: 'fedgate.token.verified.v1', source, data: withToken }), /raw secrets/);
    assert.throws(
      () => createCloudEvent({ type: 'fedgate.token.verified.v1', source, data: { ...SAMPLES['fedgate.token.verified.v1'], access_token_hash: 'eyJraw' } }),
      (error: unknown) => error instanceof InvalidEventError && error.description.includes('data.access_token_hash'),
    );
    assert.throws(() => createCloudEvent({ type: 'fedgate.run.registered.v1', source: 'has space', data: SAMPLES['fedgate.run.registered.v1'] }), InvalidEventError);
  });
});

describe('parseEvent', () => {
  const valid = () => JSON.parse(JSON.stringify(createCloudEvent({ type: 'fedgate.run.registered.v1', source, data: SAMPLES['fedgate.run.registered.v1'] })));

  it('narrows data by type', () => {
    const event = parseEvent(valid());
    assert.equal(event.type, 'fedgate.run.registered.v1');
    if (event.type === 'fedgate.run.registered.v1') assert.equal(event.data.owner, 'alice');
  });

  it('refuses broken envelopes', () => {
    const mutations: Array<(event: Record<string, unknown>) => void> = [
      (event) => (event.specversion = '0.3'),
      (event) => delete event.id,
      (event) => (event.id = ''),
      (event) => delete event.source,
      (event) => (event.time = 'yesterday'),
      (event) => delete event.subject,
      (event) => (event.datacontenttype = 'text/plain'),
      (event) => delete event.data,
    ];
    for (const mutate of mutations) {
      const event = valid();
      mutate(event);
      assert.throws(() => parseEvent(event), (error: unknown) => error instanceof InvalidEventError && error.code === 'invalid_event', mutate.toString());
    }
    assert.throws(() => parseEvent(null), InvalidEventError);
    assert.throws(() => parseEvent('text'), InvalidEventError);
  });

  it('refuses data that breaks the type schema', () => {
    const event = valid();
    event.data.run_id = '1#owner';
    assert.throws(() => parseEvent(event), (error: unknown) => error instanceof InvalidEventError && error.fields.some((field) => field.field === 'data.run_id'));
  });

  it('refuses a subject that does not match the data (wrong Kafka key)', () => {
    const event = valid();
    event.subject = 'run:43';
    assert.throws(() => parseEvent(event), /subject must be 'run:superlink\/42'/);
  });

  it('throws a typed error for unknown event types', () => {
    const event = valid();
    event.type = 'fedgate.run.exploded.v1';
    assert.throws(
      () => parseEvent(event),
      (error: unknown) =>
        error instanceof UnknownEventTypeError && error instanceof FedgateError && error.code === 'unknown_event_type' && error.eventType === 'fedgate.run.exploded.v1',
    );
  });

  it('parses JSON text and bytes, and refuses non-JSON', () => {
    const text = JSON.stringify(valid());
    assert.equal(parseEventJson(text).type, 'fedgate.run.registered.v1');
    assert.equal(parseEventJson(new TextEncoder().encode(text)).type, 'fedgate.run.registered.v1');
    assert.throws(() => parseEventJson('{not json'), InvalidEventError);
  });

  it('keeps raw tokens out of parsed data', () => {
    const event = JSON.parse(JSON.stringify(createCloudEvent({ type: 'fedgate.login.succeeded.v1', source, data: SAMPLES['fedgate.login.succeeded.v1'] })));
    event.data.access_token = 'eyJraw';
    const parsed = parseEvent(event);
    assert.equal('access_token' in (parsed.data as object), false);
  });
});

describe('audit facts', () => {
  it('describes every type', () => {
    for (const type of EVENT_TYPES) {
      const facts = auditFactsOf(createCloudEvent({ type, source, data: SAMPLES[type] as never }));
      assert.ok(facts.action.length > 0, type);
      assert.ok(['success', 'failure', 'denied'].includes(facts.outcome), type);
    }
  });

  it('maps authz decisions to outcomes and keeps the decision id', () => {
    const base = SAMPLES['fedgate.authz.decision.v1'];
    const denied = auditFactsOf(createCloudEvent({ type: 'fedgate.authz.decision.v1', source, data: base }));
    assert.deepEqual(denied, { actor: { flwr_aid: 'alice' }, object: 'run:42', action: 'check.can_view', outcome: 'denied', decision_id: decisionId });
    assert.equal(auditFactsOf(createCloudEvent({ type: 'fedgate.authz.decision.v1', source, data: { ...base, allowed: true } })).outcome, 'success');
    assert.equal(
      auditFactsOf(createCloudEvent({ type: 'fedgate.authz.decision.v1', source, data: { ...base, error: 'authz_unavailable' } })).outcome,
      'failure',
    );
  });

  it('names actor and object of ownership changes', () => {
    const facts = auditFactsOf(createCloudEvent({ type: 'fedgate.run.shared.v1', source, data: SAMPLES['fedgate.run.shared.v1'] }));
    assert.deepEqual(facts, { actor: { flwr_aid: 'alice', account_name: 'Alice' }, object: 'run:42', action: 'run.share', outcome: 'success' });
    const byKey = auditFactsOf(createCloudEvent({ type: 'fedgate.access.revoked.v1', source, data: SAMPLES['fedgate.access.revoked.v1'] }));
    assert.deepEqual(byKey.actor, { flwr_aid: 'key:operator', account_name: 'operator' }, 'a key acts under key:<name>, which no account id can be');
    const bootstrap = auditFactsOf(createCloudEvent({ type: 'fedgate.access.granted.v1', source, data: SAMPLES['fedgate.access.granted.v1'] }));
    assert.equal(bootstrap.actor, null);
    assert.equal(bootstrap.object, 'service:superlink');
  });

  it('never makes the unverified subject of a refused token the actor', () => {
    const forged = { ...SAMPLES['fedgate.token.rejected.v1'], claimed_subject: 'alice' };
    const event = createCloudEvent({ type: 'fedgate.token.rejected.v1', source, data: forged });
    assert.equal(auditFactsOf(event).actor, null);
    assert.equal(event.subject, `token:${hash('bad')}`);
  });

  it('names the verified account as the actor of a /v1/authorize decision, and the key of a refusal', () => {
    const data = { ...SAMPLES['fedgate.authz.decision.v1'], endpoint: 'authorize' as const, account: alice, access_token_hash: hash('at'), client_id: 'superlink' };
    assert.deepEqual(auditFactsOf(createCloudEvent({ type: 'fedgate.authz.decision.v1', source, data })).actor, alice);
    const refused = auditFactsOf(createCloudEvent({ type: 'fedgate.request.refused.v1', source, data: SAMPLES['fedgate.request.refused.v1'] }));
    assert.deepEqual(refused, { actor: { flwr_aid: 'key:superlink-a', account_name: 'superlink-a' }, object: 'service:superlink-b', action: 'access.grant', outcome: 'denied' });
  });

  it('has a description for every catalogue entry', () => {
    for (const type of EVENT_TYPES) assert.ok(EVENT_CATALOGUE[type].description.length > 10, type);
  });
});

describe('requestRefusedEvent', () => {
  const key = { kind: 'key', name: 'superlink-a' } as const;
  const origin = { client_id: 'superlink-a', source_ip: '127.0.0.1' };
  /** Valid as any consumer reads it: through JSON, then parseEvent. */
  const reparsed = (event: unknown) => parseEvent(JSON.parse(JSON.stringify(event)));

  it('cuts at the very limits the schema accepts', () => {
    assert.equal(RequestRefusedDataSchema.shape.action.maxLength, REQUEST_REFUSED_MAX_ACTION_CHARS);
    assert.equal(RequestRefusedDataSchema.shape.reason.maxLength, REQUEST_REFUSED_MAX_REASON_CHARS);
  });

  it('cuts an over-long action and reason to the limits, and the event stays valid', () => {
    const event = requestRefusedEvent(source, { actor: key, action: `POST /v1/${'a'.repeat(200)}`, reason: 'r'.repeat(5000), origin });
    assert.equal(event.data.action, `POST /v1/${'a'.repeat(REQUEST_REFUSED_MAX_ACTION_CHARS - 9)}`);
    assert.equal(event.data.reason, 'r'.repeat(REQUEST_REFUSED_MAX_REASON_CHARS));
    assert.deepEqual(reparsed(event).data, event.data);
  });

  it('never leaves half a surrogate pair at the cut', () => {
    const reason = `${'r'.repeat(REQUEST_REFUSED_MAX_REASON_CHARS - 1)}😀 and more`;
    const event = requestRefusedEvent(source, { actor: key, action: 'check', reason, origin });
    assert.equal(event.data.reason, 'r'.repeat(REQUEST_REFUSED_MAX_REASON_CHARS - 1));
    assert.deepEqual(reparsed(event).data, event.data);
  });

  it('keeps what fits as it is, and leaves absent optional fields out (not undefined)', () => {
    const bare = requestRefusedEvent(source, { actor: key, action: 'rebuild', object: undefined, client_id: undefined, reason: 'no role', origin });
    assert.deepEqual(bare.data, { actor: key, action: 'rebuild', reason: 'no role', origin });
    assert.deepEqual(Object.keys(bare.data), ['actor', 'action', 'reason', 'origin']);
    const person = { kind: 'person', flwr_aid: 'alice', account_name: 'Alice' } as const;
    const full = requestRefusedEvent(source, { actor: person, client_id: 'superlink-a', action: 'run.share', object: 'run:42', reason: 'not the owner', origin });
    assert.deepEqual(full.data, { actor: person, client_id: 'superlink-a', action: 'run.share', object: 'run:42', reason: 'not the owner', origin });
    assert.equal(full.subject, 'flwr_aid:alice');
    assert.deepEqual(auditFactsOf(full), { actor: alice, object: 'run:42', action: 'run.share', outcome: 'denied' });
  });
});

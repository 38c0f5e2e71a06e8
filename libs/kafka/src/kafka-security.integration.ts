// Attack tests against the real broker of the local stack: SASL/SCRAM authentication and the
// ACLs derived from the topic catalogue (libs/contracts TOPIC_CATALOGUE). Each refused request
// is the one an attacker on the network would send; each asserts that the topic did not move
// and that the broker recorded the refusal in its log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { TOPICS, createCloudEvent, topicsConsumedBy, topicsProducedBy, toKafkaMessage, type FedgateEvent, type KafkaServicePrincipal, type StackFile, type TopicName } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { repoRoot, runProjectScript, serviceKafkaEnv, uniqueSuffix, waitFor } from '@fedgate/testing';
import { CloudEventPublisher, KafkaPublishError } from './cloud-event.publisher';
import { applyKafkaAcls } from './kafka-acls';
import type { KafkaCredentials } from './kafka-settings';

const stack: StackFile = readStackFile();
const state = process.env.FEDGATE_STATE_DIR ?? path.join(repoRoot(), '.fedgate');
const brokerLog = path.join(state, 'run', 'kafka.log');

/** A kafkajs client with few retries (a refusal must show soon), as `sasl` or as nobody. */
function client(sasl: KafkaConfig['sasl'] | undefined): Kafka {
  return new Kafka({ clientId: `attacker-${uniqueSuffix()}`, brokers: stack.kafka.brokers, sasl, connectionTimeout: 3000, retry: { retries: 1 }, logLevel: logLevel.NOTHING });
}

function asService(principal: KafkaServicePrincipal): KafkaCredentials {
  const { FEDGATE_KAFKA_USERNAME: username, FEDGATE_KAFKA_PASSWORD: password } = serviceKafkaEnv(principal);
  return { mechanism: 'scram-sha-512', username, password };
}

/** The forged grant an attacker would publish: make themselves admin of the SuperLink. */
function forgedGrant(): FedgateEvent {
  return createCloudEvent({
    type: 'fedgate.access.granted.v1',
    source: '/fedgate/authz-service',
    data: { flwr_aid: `mallory-${uniqueSuffix()}`, service: stack.service_name, role: 'admin', actor: null },
  });
}

async function brokerLogSince(offset: number): Promise<string> {
  return readFileSync(brokerLog, 'utf8').slice(offset);
}

describe('Kafka security: SASL/SCRAM and ACLs on the real broker', () => {
  let operator: Admin;
  const end = async (topic: TopicName): Promise<string> => (await operator.fetchTopicOffsets(topic)).map((p) => `${p.partition}:${p.high}`).join(',');

  before(async () => {
    operator = client(stack.kafka.sasl).admin();
    await operator.connect();
  });
  after(() => operator.disconnect());

  it('refuses a producer without credentials, and nothing reaches the ownership topic', async () => {
    const before = await end(TOPICS.ownership);
    const producer = client(undefined).producer();
    try {
      // the broker speaks only SASL on its listener: no request of an unauthenticated client is answered
      await assert.rejects(async () => {
        await producer.connect();
        const m = toKafkaMessage(forgedGrant());
        await producer.send({ topic: TOPICS.ownership, acks: -1, messages: [{ key: m.key, value: m.value }] });
      });
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    assert.equal(await end(TOPICS.ownership), before, 'the ownership topic must not have moved');
  });

  it('refuses a wrong password, also for a real principal, and logs the failed authentication', async () => {
    const logOffset = readFileSync(brokerLog, 'utf8').length;
    const before = await end(TOPICS.ownership);
    const producer = client({ mechanism: 'scram-sha-512', username: 'authz-service', password: 'not-the-password' }).producer();
    await assert.rejects(producer.connect(), (err: Error) => err.name === 'KafkaJSSASLAuthenticationError' && /SCRAM/i.test(err.message));
    await producer.disconnect().catch(() => undefined);
    // an unknown user gets the same answer (no user enumeration)
    const unknown = client({ mechanism: 'scram-sha-512', username: 'mallory', password: 'x' }).producer();
    await assert.rejects(unknown.connect(), (err: Error) => err.name === 'KafkaJSSASLAuthenticationError');
    await unknown.disconnect().catch(() => undefined);
    assert.equal(await end(TOPICS.ownership), before);
    await waitFor('the broker to log the failed authentications', async () => ((await brokerLogSince(logOffset)).match(/Failed authentication with \/127\.0\.0\.1.*SCRAM-SHA-512/g) ?? []).length >= 2, 10_000, 200);
  });

  it("refuses the token-service's principal a write to the ownership topic (a forged admin grant), and logs the denial", async () => {
    const logOffset = readFileSync(brokerLog, 'utf8').length;
    const before = await end(TOPICS.ownership);
    // the token-service's own publisher (idempotent producer), with its own credentials
    const publisher = new CloudEventPublisher({ clientId: 'token-service', brokers: stack.kafka.brokers, sasl: asService('token-service') });
    try {
      await assert.rejects(publisher.publish(TOPICS.ownership, [forgedGrant()]), (err: Error) => err instanceof KafkaPublishError && /not authorized to access topics/i.test(err.message));
      // ...while the topic it owns takes its events
      const own = createCloudEvent({
        type: 'fedgate.token.rejected.v1',
        source: '/fedgate/tests/kafka-security',
        data: { access_token_hash: 'a'.repeat(64), error: 'invalid_token', error_description: 'a test of the ACLs' },
      });
      const ownBefore = await end(TOPICS.token);
      await publisher.publish(TOPICS.token, [own]);
      assert.notEqual(await end(TOPICS.token), ownBefore, 'its own topic must take the event');
    } finally {
      await publisher.onModuleDestroy();
    }
    assert.equal(await end(TOPICS.ownership), before, 'the ownership topic must not have moved');
    await waitFor(
      'the broker to log the denied write',
      // (the producer is stopped at its first metadata request: it may not even see the topic)
      async () => /Principal = User:token-service is Denied operation = (DESCRIBE|WRITE) .* resource = Topic:LITERAL:fedgate\.ownership\.v1 for request = (Metadata|Produce)/.test(await brokerLogSince(logOffset)),
      10_000,
      200,
    );
  });

  it('refuses the token-service a read of topics it does not consume, and a consumer group not its own', async () => {
    const kafka = client(asService('token-service'));
    for (const topic of [TOPICS.ownership, TOPICS.authz, TOPICS.token]) {
      // its own topic token.v1 is write-only for it: only the audit-service reads verifications
      const consumer = kafka.consumer({ groupId: `token-service-attack-${uniqueSuffix()}`, retry: { retries: 0 } });
      try {
        await consumer.connect();
        await assert.rejects(
          (async () => {
            await consumer.subscribe({ topics: [topic], fromBeginning: true });
            await new Promise<void>((resolve, reject) => {
              consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
              consumer.run({ eachMessage: async () => resolve() }).catch(reject);
            });
          })(),
          (err: Error & { type?: string }) => /AUTHORIZATION_FAILED/.test(err.type ?? '') || /not authorized/i.test(err.message),
          `token-service must not read ${topic}`,
        );
      } finally {
        await consumer.disconnect().catch(() => undefined);
      }
    }
    // the offsets of another service's group are not its to read (nor to move), and no topic is its to delete
    const logOffset = readFileSync(brokerLog, 'utf8').length;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await assert.rejects(admin.fetchOffsets({ groupId: 'audit-service', topics: [TOPICS.login] }));
      await assert.rejects(admin.deleteTopics({ topics: [TOPICS.ownership], timeout: 5000 }));
    } finally {
      await admin.disconnect();
    }
    assert.ok((await operator.listTopics()).includes(TOPICS.ownership), 'the ownership topic is still there');
    await waitFor('the broker to log the denied group and delete', async () => {
      const log = await brokerLogSince(logOffset);
      return /Principal = User:token-service is Denied operation = DESCRIBE .* resource = Group:LITERAL:audit-service/.test(log) && /Principal = User:token-service is Denied operation = DELETE .* resource = Topic:LITERAL:fedgate\.ownership\.v1/.test(log);
    }, 10_000, 200);
  });

  it('puts back exactly the catalogue ACLs: a grant added by hand is removed by the next apply', async () => {
    const stray = {
      resourceType: AclResourceTypes.TOPIC,
      resourceName: TOPICS.ownership,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: 'User:token-service',
      host: '*',
      operation: AclOperationTypes.WRITE,
      permissionType: AclPermissionTypes.ALLOW,
    };
    await operator.createAcls({ acl: [stray] });
    try {
      const changes = await applyKafkaAcls({ clientId: 'acl-test', brokers: stack.kafka.brokers, sasl: stack.kafka.sasl });
      assert.equal(changes.deleted, 1);
      assert.equal(changes.created, 0);
      const { resources } = await operator.describeAcls({ ...stray, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
      assert.deepEqual(resources.flatMap((r) => r.acls), [], 'token-service holds no ACL on the ownership topic');
    } finally {
      await operator.deleteAcls({ filters: [stray] });
    }
  });

  it('rotates a password: `kafka.sh users` sets the one in secrets.env, and the old one is refused from then on', { timeout: 300_000 }, async () => {
    const secretsFile = path.join(state, 'secrets.env');
    const original = readFileSync(secretsFile, 'utf8');
    const old = asService('login-service');
    const rotated = { ...old, password: randomBytes(24).toString('hex') };
    const connects = async (sasl: KafkaCredentials): Promise<string[]> => {
      const admin = client(sasl).admin();
      await admin.connect();
      try {
        return await admin.listTopics();
      } finally {
        await admin.disconnect();
      }
    };
    // a principal does not even see the topics it has no ACL on: the login-service sees exactly the
    // catalogue's (its own, the system topic of dead-letter alerts, the authz topic of key refusals)
    const granted = [...new Set([...topicsProducedBy('login-service'), ...topicsConsumedBy('login-service')])].sort();
    assert.equal(granted.includes(TOPICS.ownership), false, 'the login-service has no business with run ownership');
    assert.deepEqual((await connects(old)).sort(), granted);
    writeFileSync(secretsFile, original.replace(/^FEDGATE_KAFKA_LOGIN_SERVICE_PASSWORD=.*$/m, `FEDGATE_KAFKA_LOGIN_SERVICE_PASSWORD=${rotated.password}`), { mode: 0o600 });
    try {
      const users = runProjectScript('scripts/infra/kafka.sh', ['users']);
      assert.equal(users.status, 0, users.stderr);
      assert.match(users.stderr, /SCRAM credentials set for login-service$/m, 'only the changed credential is set');
      assert.deepEqual((await connects(rotated)).sort(), granted);
      await assert.rejects(connects(old), (err: Error) => err.name === 'KafkaJSSASLAuthenticationError');
    } finally {
      // put the stack's password back (the running login-service reconnects with it)
      writeFileSync(secretsFile, original, { mode: 0o600 });
      const back = runProjectScript('scripts/infra/kafka.sh', ['users']);
      assert.equal(back.status, 0, back.stderr);
    }
    assert.deepEqual((await connects(old)).sort(), granted);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOPIC_NAMES } from '@fedgate/contracts';
import { kafkaConfigSchema } from '@fedgate/platform';
import { auditServiceConfigSchema, loginServiceConfigSchema } from './index';

// Settings that are not plain strings are parsed by the schema, so no module parses them again.
describe('settings parsed in the schema', () => {
  const kafka = { FEDGATE_KAFKA_USERNAME: 'u', FEDGATE_KAFKA_PASSWORD: 'p' };

  it('FEDGATE_KAFKA_BROKERS: a trimmed list, at least one broker', () => {
    assert.deepEqual(kafkaConfigSchema.parse({ ...kafka, FEDGATE_KAFKA_BROKERS: ' a:1, b:2 ,,' }).FEDGATE_KAFKA_BROKERS, ['a:1', 'b:2']);
    assert.equal(kafkaConfigSchema.safeParse({ ...kafka, FEDGATE_KAFKA_BROKERS: ' , ' }).success, false);
  });

  it('FEDGATE_OIDC_EXTRA_PARAMS: a JSON object of strings, or refused at start', () => {
    const extra = loginServiceConfigSchema.shape.FEDGATE_OIDC_EXTRA_PARAMS;
    assert.deepEqual(extra.parse('{"audience":"https://api"}'), { audience: 'https://api' });
    assert.equal(extra.parse(undefined), undefined);
    for (const bad of ['{not json', '["a"]', '{"n":1}']) assert.equal(extra.safeParse(bad).success, false, bad);
  });

  it('FEDGATE_AUDIT_TOPICS: the listed topics, else every catalogue topic', () => {
    const topics = auditServiceConfigSchema.shape.FEDGATE_AUDIT_TOPICS;
    assert.deepEqual(topics.parse('bench.scratch,fedgate.authz'), ['bench.scratch', 'fedgate.authz']);
    assert.deepEqual(topics.parse(undefined), TOPIC_NAMES);
    assert.equal(topics.safeParse('a,,b').success, false);
  });
});

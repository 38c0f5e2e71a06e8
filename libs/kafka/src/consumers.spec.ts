import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOPIC_CATALOGUE, TOPIC_NAMES, type KafkaServicePrincipal } from '@fedgate/contracts';
import { CONSUMERS, consumersOf, type ConsumerKey } from './consumers';

const definitions = Object.entries(CONSUMERS) as Array<[ConsumerKey, (typeof CONSUMERS)[ConsumerKey]]>;

describe('CONSUMERS: every consumer of Fedgate events, held to TOPIC_CATALOGUE', () => {
  it('lists each topic’s consumers', () => {
    const byTopic = Object.fromEntries(TOPIC_NAMES.map((topic) => [topic, consumersOf(topic)]));
    assert.deepEqual(byTopic, {
      'fedgate.login.v1': ['sessionRevocations', 'adminByLogin', 'auditIngest'],
      'fedgate.token.v1': ['auditIngest'],
      'fedgate.authz.v1': ['auditIngest'],
      'fedgate.ownership.v1': ['ownershipProjector', 'decisionCacheInvalidations', 'auditIngest'],
      'fedgate.system.v1': ['auditIngest'],
      'fedgate.audit.v1': ['auditIngest'],
    });
  });

  it('every consumer reads catalogue topics only, and only as a principal the catalogue lets read them', () => {
    for (const [key, consumer] of definitions) {
      assert.ok(consumer.topics.length > 0, key);
      for (const topic of consumer.topics) {
        const entry = Object.values(TOPIC_CATALOGUE).find((t) => t.name === topic);
        assert.ok(entry, `${key} reads ${topic}, which is not in TOPIC_CATALOGUE`);
        for (const principal of consumer.principals) {
          assert.ok((entry.consumers as readonly KafkaServicePrincipal[]).includes(principal), `${key} runs as ${principal}, which TOPIC_CATALOGUE does not let read ${topic}`);
        }
      }
    }
  });

  it("each topic's declared consumer principals are exactly the principals of its consumers in the code", () => {
    for (const entry of Object.values(TOPIC_CATALOGUE)) {
      const inCode = new Set(consumersOf(entry.name).flatMap((key) => CONSUMERS[key].principals));
      assert.deepEqual([...inCode].sort(), [...entry.consumers].sort(), entry.name);
    }
  });
});

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TOPIC_CATALOGUE, TOPIC_NAMES, type KafkaServicePrincipal } from '@fedgate/contracts';
import { repoRoot } from '@fedgate/testing';
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

/** The services' and libs' own source (tests, which consume as the operator, left out). */
function productionSources(): Array<{ file: string; text: string }> {
  const root = repoRoot();
  return ['apps', 'libs'].flatMap((top) =>
    (readdirSync(path.join(root, top), { recursive: true, withFileTypes: true }) as Dirent[])
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !/\.(spec|integration|e2e)\.ts$|\.d\.ts$/.test(e.name) && !e.parentPath.includes('node_modules'))
      .map((e) => ({ file: path.relative(root, path.join(e.parentPath, e.name)), text: readFileSync(path.join(e.parentPath, e.name), 'utf8') })),
  );
}

describe('CONSUMERS is the whole list: the code creates each consumer from its entry', () => {
  const sources = productionSources();

  it('no service creates a consumer outside consumerOf', () => {
    assert.deepEqual(sources.filter((s) => s.text.includes('new CloudEventConsumer(')).map((s) => s.file), ['libs/kafka/src/consumers.ts']);
  });

  it("each entry is created by the code of the handler it names", () => {
    for (const [key, consumer] of definitions) {
      const [className, method] = consumer.handler.split('.');
      const creators = sources.filter((s) => s.text.includes(`consumerOf(CONSUMERS.${key},`));
      assert.equal(creators.length, 1, `${key} is created in exactly one file: ${creators.map((s) => s.file).join(', ')}`);
      assert.match(creators[0].text, new RegExp(`class ${className}\\b`), `${creators[0].file} holds ${className}`);
      if (method) assert.match(creators[0].text, new RegExp(`\\b${method}\\(`), `${creators[0].file} holds ${consumer.handler}`);
    }
  });
});

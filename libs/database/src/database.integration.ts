// Prisma against the real PostgreSQL of the local stack: migrations, schema agreement, queries.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Pool } from 'pg';
import { TOPICS, createCloudEvent } from '@fedgate/contracts';
import { databaseUrlNamed, dropDatabase, repoRoot, uniqueSuffix, withPg } from '@fedgate/testing';
import { createPrismaClient } from './prisma.service';
import { OutboxStore } from './outbox.store';
import { OutboxGroupWriter } from './outbox-group.writer';
import { ProcessedEventStore } from './processed-event.store';

const databaseUrl = process.env.FEDGATE_DATABASE_URL ?? '';

function prisma(args: string[], url = databaseUrl) {
  const result = spawnSync('npx', ['prisma', ...args], {
    cwd: repoRoot(),
    encoding: 'utf8',
    env: { ...process.env, FEDGATE_DATABASE_URL: url },
    timeout: 180_000,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('Prisma on the real PostgreSQL', () => {
  it('has DATABASE settings from the stack', () => assert.match(databaseUrl, /^postgresql:\/\//));

  it('migrations in prisma/migrations produce exactly schema.prisma (no drift)', { timeout: 180_000 }, () => {
    const diff = prisma(['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema', 'prisma/schema.prisma', '--exit-code']);
    // --exit-code: 0 = no difference, 2 = difference, 1 = error
    assert.equal(diff.status, 0, `schema.prisma and the migrations disagree:\n${diff.output}`);
  });

  it('the stack database has every migration applied', { timeout: 120_000 }, () => {
    const status = prisma(['migrate', 'status']);
    assert.equal(status.status, 0, status.output);
    assert.match(status.output, /Database schema is up to date/);
  });

  it('applies the migrations to an empty database, then the generated client queries it', { timeout: 180_000 }, async () => {
    const name = `fedgate_migrate_${uniqueSuffix()}`;
    await withPg(databaseUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
    const url = databaseUrlNamed(databaseUrl, name);
    const client = createPrismaClient(url, 2);
    const pool = new Pool({ connectionString: url, max: 2 });
    try {
      const deploy = prisma(['migrate', 'deploy'], url);
      assert.equal(deploy.status, 0, deploy.output);

      const event = createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: 'hello', nonce: name } });
      await new OutboxStore(pool).appendNow([event]);
      const rows = await client.outboxEvent.findMany({ where: { id: event.id } });
      assert.equal(rows.length, 1);
      assert.equal(rows[0].topic, 'fedgate.system.v1');
      assert.equal(rows[0].key, `system:${name}`);
      assert.deepEqual(rows[0].event, event);
      assert.equal(rows[0].publishedAt, null);

      const processed = new ProcessedEventStore(client);
      let effects = 0;
      const id = randomUUID();
      assert.equal(await processed.runOnce('test', id, async () => void effects++), true);
      assert.equal(await processed.runOnce('test', id, async () => void effects++), false);
      assert.equal(effects, 1, 'a processed event id is applied once');
    } finally {
      await client.$disconnect();
      await pool.end();
      await dropDatabase(databaseUrl, name);
    }
  });

  it('stores each event of a group exactly as given, in the row of its own id, topic and key (text that needs escaping included)', async () => {
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const nonce = `escape-${uniqueSuffix()}`;
      const texts = ['plain', 'a "quoted" word', 'back\\slash \\" and \\\\', 'line\nbreak\ttab', 'unicode é 名 😀 \u2028', '{"looks":["like",1,"json"]}', '[", {"]'];
      const events = [
        ...texts.map((message) => createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message, nonce } })),
        createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: 'other key', nonce: `${nonce}-b` } }),
      ];
      await new OutboxStore(pool).appendNow(events);
      const { rows } = await pool.query<{ id: string; topic: string; key: string; event: unknown }>('SELECT id, topic, key, event FROM outbox_event WHERE key = ANY($1::text[])', [[`system:${nonce}`, `system:${nonce}-b`]]);
      assert.equal(rows.length, events.length);
      for (const event of events) {
        const row = rows.find((r) => r.id === event.id);
        assert.deepEqual(row, { id: event.id, topic: TOPICS.system, key: event.subject, event: JSON.parse(JSON.stringify(event)) });
      }
      await pool.query('DELETE FROM outbox_event WHERE key = ANY($1::text[])', [[`system:${nonce}`, `system:${nonce}-b`]]);
    } finally {
      await pool.end();
    }
  });

  it('group-commits concurrent appends: every event stored once, in far fewer writes', { timeout: 60_000 }, async () => {
    const client = createPrismaClient(databaseUrl, 4);
    const pool = new Pool({ connectionString: databaseUrl, max: 4 });
    try {
      const outbox = new OutboxStore(pool);
      let writes = 0;
      const counting = Object.assign(Object.create(outbox) as OutboxStore, {
        appendNow: async (events: Parameters<OutboxStore['appendNow']>[0]) => {
          writes++;
          await outbox.appendNow(events);
        },
      });
      const writer = new OutboxGroupWriter(counting, { maxBatch: 200 });
      const nonce = `group-${uniqueSuffix()}`;
      const events = Array.from({ length: 1000 }, (_, i) => createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: String(i), nonce } }));
      await Promise.all(events.map((e) => writer.append(e)));
      const stored = await client.outboxEvent.count({ where: { key: `system:${nonce}` } });
      assert.equal(stored, 1000);
      assert.ok(writes >= 5 && writes < 100, `1000 appends took ${writes} writes`);
      await client.outboxEvent.deleteMany({ where: { key: `system:${nonce}` } });
    } finally {
      await client.$disconnect();
      await pool.end();
    }
  });
});

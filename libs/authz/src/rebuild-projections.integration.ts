// RebuildProjections against the real PostgreSQL, in a scratch database: while one instance's
// rebuild is between its new generation and the end of its wipe, another instance's wipeDone()
// waits (it would otherwise replay into a store that is still being emptied, and lose tuples);
// and a rebuild whose connection dies mid-wipe does not keep the others waiting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { operatorKafkaSettings } from '@fedgate/kafka';
import { readStackFile } from '@fedgate/stack';
import { createScratchDatabase, uniqueSuffix, withPg, type ScratchDatabase } from '@fedgate/testing';
import type { AuthorizationStore } from './authorization-store';
import type { OwnershipProjector } from './ownership-projector';
import type { ProjectionState } from './projection-state';
import { RebuildProjections } from './rebuild-projections.use-case';

const stack = readStackFile();

/** An instance's rebuild whose wipe runs until `finishWipe` is called; the rest of it is inert. */
function instance(pool: Pool) {
  let finishWipe!: () => void;
  let wipeStarted!: () => void;
  const wiping = new Promise<void>((resolve) => (wipeStarted = resolve));
  const wiped = new Promise<void>((resolve) => (finishWipe = resolve));
  let running = false;
  const projector = {
    generation: 1,
    get running() {
      return running;
    },
    stop: async () => void (running = false),
    start: async (generation: number) => {
      projector.generation = generation;
      running = true;
    },
    caughtUp: () => true,
  };
  const store = {
    pinned: () => ({ storeId: 's', modelId: 'm' }),
    deleteAllTuples: async () => {
      wipeStarted();
      await wiped;
      return 0;
    },
  };
  const projection = { update: () => undefined, refresh: async () => undefined, position: { generation: 1, applied: 0n } };
  const rebuild = new RebuildProjections({
    pool,
    kafka: operatorKafkaSettings(stack, `fedgate-tests-rebuild-${uniqueSuffix()}`),
    projector: projector as unknown as OwnershipProjector,
    store: store as unknown as AuthorizationStore,
    projection: projection as unknown as ProjectionState,
  });
  return { rebuild, wiping, finishWipe };
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('RebuildProjections: followers wait for the wipe', { timeout: 240_000 }, () => {
  let db: ScratchDatabase;
  const pools: Pool[] = [];

  before(async () => {
    db = await createScratchDatabase(stack.postgres.url, `fedgate_authz_rebuild_${uniqueSuffix()}`);
    await withPg(db.databaseUrl, (c) => c.query('INSERT INTO authz_projection (id) VALUES (1) ON CONFLICT DO NOTHING'));
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await db?.drop();
  });
  // each "instance" has its own pool, as separate processes do
  const newPool = () => {
    const pool = new Pool({ connectionString: db.databaseUrl, max: 2 });
    pool.on('error', () => undefined); // an idle client of a terminated session
    pools.push(pool);
    return pool;
  };

  it('another instance waits in wipeDone() until the wipe is over, then goes on', async () => {
    const rebuilder = instance(newPool());
    const follower = instance(newPool());
    assert.equal(await settlesWithin(follower.rebuild.wipeDone(), 5000), true, 'no rebuild: wipeDone() answers at once');

    const rebuilt = rebuilder.rebuild.execute();
    await rebuilder.wiping;
    const generation = await withPg(db.databaseUrl, async (c) => (await c.query<{ generation: number }>('SELECT generation FROM authz_projection WHERE id = 1')).rows[0]!.generation);
    assert.equal(generation, 2, 'the new generation is visible to the others while the wipe runs');
    const waited = follower.rebuild.wipeDone();
    assert.equal(await settlesWithin(waited, 1500), false, 'the follower must not replay while the store is being wiped');

    rebuilder.finishWipe();
    assert.equal(await settlesWithin(waited, 10_000), true, 'the follower goes on once the wipe is over');
    const result = await rebuilt;
    assert.equal(result.generation, 2);
  });

  it('a rebuild whose database connection dies mid-wipe frees the others and fails (the wipe may have overlapped a replay)', async () => {
    const pool = newPool();
    const rebuilder = instance(pool);
    const follower = instance(newPool());
    const rebuilt = rebuilder.rebuild.execute().catch((err: Error) => err);
    await rebuilder.wiping;
    const waited = follower.rebuild.wipeDone();
    assert.equal(await settlesWithin(waited, 1500), false);
    // the holder's session ends as it would with its process (kill -9): PostgreSQL frees its lock
    await withPg(db.databaseUrl, (c) =>
      c.query("SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
    );
    assert.equal(await settlesWithin(waited, 10_000), true, 'the follower goes on without the dead rebuild');
    rebuilder.finishWipe();
    const outcome = await rebuilt;
    assert.ok(outcome instanceof Error && (outcome as Error & { code?: string }).code === 'database_unavailable', `the rebuild fails: ${String(outcome)}`);
  });
});

// OutboxStore.prunePublished on a scratch database of the stack's real PostgreSQL: these tests
// age and delete rows, so they never touch the stack's own outbox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool, QueryResult } from 'pg';
import { FedgateEvent, TOPICS, createCloudEvent } from '@fedgate/contracts';
import { ScratchDatabase, createScratchDatabase, uniqueSuffix, waitFor } from '@fedgate/testing';
import { OutboxStore } from './outbox.store';
import { createResilientPool } from './prisma.service';

const HOUR = 3_600_000;

const systemEvents = (count: number): FedgateEvent[] =>
  Array.from({ length: count }, (_, i) => createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests/prune', data: { message: String(i), nonce: uniqueSuffix() } }));

const ownershipEvents = (count: number): FedgateEvent[] =>
  Array.from({ length: count }, (_, i) => createCloudEvent({ type: 'fedgate.run.registered.v1', source: '/fedgate/tests/prune', data: { run_id: String(1000 + i), owner: 'alice' } }));

const idsOf = (events: readonly FedgateEvent[]) => events.map((e) => e.id);

describe('OutboxStore.prunePublished (scratch database)', () => {
  let scratch: ScratchDatabase;
  let pool: Pool;

  before(async () => {
    scratch = await createScratchDatabase(process.env.FEDGATE_DATABASE_URL ?? '', `fedgate_prune_${uniqueSuffix()}`);
    // the services' pool: a session PostgreSQL ends (the stall timeout below) must not end the process
    pool = createResilientPool({ connectionString: scratch.databaseUrl, max: 4 });
  }, { timeout: 180_000 });

  after(async () => {
    await pool?.end();
    await scratch?.drop();
  });

  /** Appends `events`, then sets their age: created `createdAgoMs` ago, published `publishedAgoMs` ago (null: unpublished). */
  async function stored(events: FedgateEvent[], createdAgoMs: number, publishedAgoMs: number | null): Promise<FedgateEvent[]> {
    await new OutboxStore(pool).appendNow(events);
    await pool.query(
      `UPDATE outbox_event SET created_at = now() - $2::float8 * interval '1 millisecond',
         published_at = CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() - $3::float8 * interval '1 millisecond' END
       WHERE id = ANY($1::uuid[])`,
      [idsOf(events), createdAgoMs, publishedAgoMs],
    );
    return events;
  }

  async function remaining(events: readonly FedgateEvent[]): Promise<Set<string>> {
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM outbox_event WHERE id = ANY($1::uuid[])', [idsOf(events)]);
    return new Set(rows.map((r) => r.id));
  }

  async function clear(): Promise<void> {
    await pool.query('TRUNCATE outbox_event');
  }

  it('deletes events published before the retention; keeps recent, unpublished and event-sourced ones', async () => {
    await clear();
    const old = await stored(systemEvents(5), 3 * HOUR, 2 * HOUR);
    const recent = await stored(systemEvents(3), HOUR, HOUR / 6);
    const unpublished = await stored(systemEvents(3), 30 * 24 * HOUR, null);
    const ownership = [...(await stored(ownershipEvents(2), 3 * HOUR, 2 * HOUR)), ...(await stored(ownershipEvents(1), 30 * 24 * HOUR, 30 * 24 * HOUR))];
    const { rows: topics } = await pool.query<{ topic: string }>('SELECT DISTINCT topic FROM outbox_event WHERE id = ANY($1::uuid[])', [idsOf(ownership)]);
    assert.deepEqual(topics, [{ topic: TOPICS.ownership }]);

    const store = new OutboxStore(pool);
    assert.equal(await store.prunePublished({ retentionMs: HOUR, batchSize: 100 }), 5);
    assert.equal((await remaining(old)).size, 0, 'events published 2 h ago are gone');
    const kept = [...recent, ...unpublished, ...ownership];
    assert.deepEqual(await remaining(kept), new Set(idsOf(kept)), 'recent, unpublished and ownership events stay');

    assert.equal(await store.prunePublished({ retentionMs: HOUR, batchSize: 100 }), 0, 'nothing more to delete');
    assert.equal(await new OutboxStore(pool).prunePublished({ retentionMs: HOUR, batchSize: 100 }), 0, 'another instance finds nothing either');
  });

  it('deletes in statements of at most batchSize rows, until none is left', async () => {
    await clear();
    // ownership rows interleaved with the old ones: examined, never deleted
    const old: FedgateEvent[] = [];
    for (let i = 0; i < 5; i++) {
      old.push(...(await stored(systemEvents(5), 3 * HOUR, 2 * HOUR)));
      await stored(ownershipEvents(1), 3 * HOUR, 2 * HOUR);
    }
    const perStatement: number[] = [];
    const counting = {
      query: async (...args: Parameters<Pool['query']>) => {
        const result = (await (pool.query as (...a: unknown[]) => Promise<QueryResult<{ deleted: number }>>)(...args));
        perStatement.push(result.rows[0].deleted);
        return result;
      },
    } as unknown as Pool;

    assert.equal(await new OutboxStore(counting).prunePublished({ retentionMs: HOUR, batchSize: 10 }), 25);
    assert.equal((await remaining(old)).size, 0);
    assert.ok(perStatement.every((n) => n <= 10), `deleted per statement: ${perStatement.join(', ')}`);
    // 30 rows examined 10 at a time; the fourth statement finds none left
    assert.deepEqual(perStatement.reduce((a, b) => a + b, 0), 25);
    assert.equal(perStatement.length, 4, `statements: ${perStatement.join(', ')}`);
  });

  it('a later prune of the same store still deletes rows that aged past the retention since', async () => {
    await clear();
    const store = new OutboxStore(pool);
    const first = await stored(systemEvents(4), 3 * HOUR, 2 * HOUR);
    await stored(ownershipEvents(2), 3 * HOUR, 2 * HOUR);
    const later = await stored(systemEvents(4), HOUR, HOUR / 2);
    assert.equal(await store.prunePublished({ retentionMs: HOUR, batchSize: 3 }), 4);
    assert.equal((await remaining(later)).size, 4);
    assert.equal((await remaining(first)).size, 0);
    // time passes: `later` is now older than the retention (still younger than where the last prune stopped)
    await pool.query(`UPDATE outbox_event SET published_at = published_at - interval '1 hour' WHERE id = ANY($1::uuid[])`, [idsOf(later)]);
    assert.equal(await store.prunePublished({ retentionMs: HOUR, batchSize: 3 }), 4);
    assert.equal((await remaining(later)).size, 0);
  });

  it('concurrent prunes from several instances delete each row once, without errors', async () => {
    await clear();
    const old = await stored(systemEvents(200), 3 * HOUR, 2 * HOUR);
    const stores = [new OutboxStore(pool), new OutboxStore(pool), new OutboxStore(pool)];
    const counts = await Promise.all(stores.map((s) => s.prunePublished({ retentionMs: HOUR, batchSize: 20 })));
    assert.equal(counts.reduce((a, b) => a + b, 0), 200, `deleted ${counts.join(' + ')}`);
    assert.equal((await remaining(old)).size, 0);
  });

  it('prunes relayed events once they are older than the retention, and never before', async () => {
    await clear();
    const store = new OutboxStore(pool);
    const events = [...systemEvents(3), ...ownershipEvents(1)];
    await store.appendNow(events);
    const published: string[] = [];
    assert.equal(await store.relayBatch(async (entries) => void published.push(...entries.map((e) => e.id)), { limit: 10 }), 4);
    assert.deepEqual(published, idsOf(events));
    assert.equal(await store.prunePublished({ retentionMs: HOUR, batchSize: 10 }), 0, 'published just now');
    assert.equal(await store.prunePublished({ retentionMs: 0, batchSize: 10 }), 3);
    assert.deepEqual(await remaining(events), new Set([events[3].id]), 'the ownership event stays');
  });

  it("relays only the given topics' events: each service publishes the topics its Kafka principal may write", async () => {
    await clear();
    const store = new OutboxStore(pool);
    const system = systemEvents(3);
    const ownership = ownershipEvents(2);
    await store.appendNow([system[0], ownership[0], system[1], ownership[1], system[2]]);
    const taken: string[] = [];
    assert.equal(await store.relayBatch(async (entries) => void taken.push(...entries.map((e) => e.id)), { limit: 10, topics: [TOPICS.ownership] }), 2);
    assert.deepEqual(taken, idsOf(ownership), 'the ownership events, in order, and nothing else');
    assert.equal(await store.relayBatch(async (entries) => void taken.push(...entries.map((e) => e.id)), { limit: 10, topics: [TOPICS.ownership] }), 0);
    // while one relay publishes a topic, another relay of that topic takes nothing (its order is kept)
    assert.equal(
      await store.relayBatch(async (entries) => {
        assert.equal(await store.relayBatch(async () => assert.fail('a second relay of the topic must wait'), { limit: 10, topics: [TOPICS.system] }), 0);
        taken.push(...entries.map((e) => e.id));
      }, { limit: 10, topics: [TOPICS.system] }),
      3,
    );
    assert.deepEqual(taken.slice(2), idsOf(system));
  });

  it("leaves a topic another relay is publishing to it, and publishes the relay's other topics at once", async () => {
    await clear();
    const store = new OutboxStore(pool);
    const system = systemEvents(2);
    const ownership = ownershipEvents(2);
    await store.appendNow([system[0], ownership[0], system[1], ownership[1]]);
    const taken: string[] = [];
    const other: string[] = [];
    // one relay sends the system topic (as the token-service's relay sends decisions) while the
    // authz-service's relay, woken by an ownership write, polls both
    assert.equal(
      await store.relayBatch(async (entries) => {
        assert.equal(await store.relayBatch(async (es) => void other.push(...es.map((e) => e.id)), { limit: 10, topics: [TOPICS.system, TOPICS.ownership] }), 2);
        taken.push(...entries.map((e) => e.id));
      }, { limit: 10, topics: [TOPICS.system] }),
      2,
    );
    assert.deepEqual(other, idsOf(ownership), 'the ownership events now, and none of the system topic another relay holds');
    assert.deepEqual(taken, idsOf(system));
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL')).rows[0].n, 0, 'every event published once');
  });

  it('gathers audit-only events until the oldest is gatherMs old, and takes the topics services read at once', async () => {
    await clear();
    const store = new OutboxStore(pool);
    const young = systemEvents(2);
    const ownership = ownershipEvents(1);
    await store.appendNow([young[0], ownership[0], young[1]]);
    const taken: string[] = [];
    const take = () => store.relayBatch(async (entries) => void taken.push(...entries.map((e) => e.id)), { limit: 10, topics: [TOPICS.system, TOPICS.ownership], gatherMs: 60_000 });
    assert.equal(await take(), 1);
    assert.deepEqual(taken, idsOf(ownership), 'the ownership event now; the system events wait');
    assert.equal(await take(), 0, 'still gathering: no system event is a minute old');
    // a minute passes: the oldest waiting event comes of age, and every waiting one goes, in order
    await pool.query("UPDATE outbox_event SET created_at = created_at - interval '61 seconds' WHERE id = ANY($1::uuid[])", [idsOf(young)]);
    const later = systemEvents(1);
    await store.appendNow(later);
    assert.equal(await take(), 3);
    assert.deepEqual(taken.slice(1), idsOf([...young, ...later]));
    assert.equal(await take(), 0);
  });

  it('a relay frozen mid-batch holds its topics only stallTimeoutMs: then the next relay takes them', async () => {
    await clear();
    const store = new OutboxStore(pool);
    const events = ownershipEvents(2);
    await store.appendNow(events);
    // the frozen relay took the batch and never finishes its send: to PostgreSQL, a stopped process
    let tookIt!: () => void;
    let thaw!: () => void;
    const took = new Promise<void>((resolve) => (tookIt = resolve));
    const thawed = new Promise<void>((resolve) => (thaw = resolve));
    const frozen = store.relayBatch(async () => {
      tookIt();
      await thawed;
    }, { limit: 10, topics: [TOPICS.ownership], stallTimeoutMs: 2000 });
    await took;
    const taken: string[] = [];
    const next = () => store.relayBatch(async (entries) => void taken.push(...entries.map((e) => e.id)), { limit: 10, topics: [TOPICS.ownership] });
    assert.equal(await next(), 0, 'the frozen relay holds the topic');
    // without the stall timeout the lock stays until TCP gives up on the connection (hours)
    await waitFor('the next relay to take the frozen relay\'s topic', async () => (await next()) > 0 || undefined, 20_000, 200);
    assert.deepEqual(taken, idsOf(events), 'the events, in order');
    thaw();
    await assert.rejects(frozen, 'the frozen relay, woken, cannot mark what it sent: its session is gone');
    const { rows } = await pool.query<{ unpublished: number }>('SELECT count(*) FILTER (WHERE published_at IS NULL)::int AS unpublished FROM outbox_event WHERE id = ANY($1::uuid[])', [idsOf(events)]);
    assert.equal(rows[0]!.unpublished, 0);
  });

  it('keeps the batch of a live relay whose sends together take longer than stallTimeoutMs', async () => {
    await clear();
    const store = new OutboxStore(pool);
    const events = ownershipEvents(1);
    await store.appendNow(events);
    // six slow sends of 0.5 s, the relay saying it is alive after each: 3 s in all against 2 s
    const taken = await store.relayBatch(async (_entries, alive) => {
      for (let send = 0; send < 6; send++) {
        await delay(500);
        await alive();
      }
    }, { limit: 10, topics: [TOPICS.ownership], stallTimeoutMs: 2000 });
    assert.equal(taken, 1);
    assert.equal((await remaining(events)).size, 1);
    const { rows } = await pool.query<{ published: boolean }>('SELECT published_at IS NOT NULL AS published FROM outbox_event WHERE id = $1', [events[0]!.id]);
    assert.equal(rows[0]!.published, true);
  });

  it('refuses options that would not bound or not make sense', async () => {
    const store = new OutboxStore(pool);
    await assert.rejects(store.prunePublished({ retentionMs: HOUR, batchSize: 0 }), RangeError);
    await assert.rejects(store.prunePublished({ retentionMs: Number.NaN, batchSize: 10 }), RangeError);
    await assert.rejects(store.prunePublished({ retentionMs: -1, batchSize: 10 }), RangeError);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from 'pg';
import { SessionRevocationStore } from './session-revocation.store';

/** A pool whose queries wait until the test lets them go, recording the hashes each one asked for. */
function heldPool(sessions: Record<string, string>, failWith?: Error) {
  const asked: string[][] = [];
  const held: Array<() => void> = [];
  const pool = {
    query: (config: { values: [string[]] }) => {
      const hashes = config.values[0];
      asked.push(hashes);
      return new Promise((resolve, reject) => {
        held.push(() => (failWith ? reject(failWith) : resolve({ rows: hashes.filter((h) => h in sessions).map((h) => ({ token_hash: h, session_id: sessions[h] })) })));
      });
    },
  } as unknown as Pool;
  const release = async () => {
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    held.shift()!();
  };
  return { pool, asked, release };
}

describe('SessionRevocationStore.sessionOfToken', () => {
  it('answers the lookups that arrive while a query is in flight with one query for all of them', async () => {
    const { pool, asked, release } = heldPool({ a: 'session-a', c: 'session-c' });
    const store = new SessionRevocationStore(pool);
    const first = store.sessionOfToken('a');
    const rest = ['b', 'c', 'c', 'd'].map((h) => store.sessionOfToken(h));
    await release();
    assert.equal(await first, 'session-a');
    await release();
    assert.deepEqual(await Promise.all(rest), [undefined, 'session-c', 'session-c', undefined]);
    assert.deepEqual(asked, [['a'], ['b', 'c', 'd']]);
  });

  it('fails every lookup of a failed query, and the next lookups query again', async () => {
    const down = heldPool({}, new Error('Connection terminated unexpectedly'));
    const store = new SessionRevocationStore(down.pool);
    const group = [store.sessionOfToken('x'), store.sessionOfToken('y')].map((lookup) => assert.rejects(lookup, /Connection terminated/));
    await down.release();
    await down.release();
    await Promise.all(group);
    const later = store.sessionOfToken('x');
    await down.release();
    await assert.rejects(later, /Connection terminated/);
    assert.deepEqual(down.asked, [['x'], ['y'], ['x']]);
  });

  it('is bounded: past 2,000 waiting, a lookup is refused at once with 503 overloaded and never asked for', async () => {
    const { pool, asked, release } = heldPool({});
    const store = new SessionRevocationStore(pool);
    const accepted = Array.from({ length: 2001 }, (_, i) => store.sessionOfToken(`h${i}`)); // one in flight, 2,000 waiting
    await assert.rejects(store.sessionOfToken('one-too-many'), { code: 'overloaded', status: 503 });
    for (let i = 0; i < 3; i++) await release();
    assert.deepEqual(await Promise.all(accepted), Array(2001).fill(undefined));
    assert.equal(asked.flat().includes('one-too-many'), false);
    assert.deepEqual(asked.map((a) => a.length), [1, 1000, 1000], 'the waiting ones went in batches of at most 1,000');
  });
});

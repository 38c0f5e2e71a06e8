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
    const group = [store.sessionOfToken('x'), store.sessionOfToken('y')];
    await down.release();
    await down.release();
    for (const lookup of group) await assert.rejects(lookup, /Connection terminated/);
    const later = store.sessionOfToken('x');
    await down.release();
    await assert.rejects(later, /Connection terminated/);
    assert.deepEqual(down.asked, [['x'], ['y'], ['x']]);
  });
});

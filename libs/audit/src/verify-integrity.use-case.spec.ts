import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createCloudEvent, type AuditCheckpoint } from '@fedgate/contracts';
import { waitFor } from '@fedgate/testing';
import type { AuditEventStore } from './audit-event.store';
import { EMPTY_CHAIN, chainRows, type AuditRow } from './audit-record';
import { CheckpointSigner } from './checkpoint-key';
import { VerifyIntegrity } from './verify-integrity.use-case';

const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
const eventsNamed = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: `m${from + i}`, nonce: 'verify' } }));

/** An in-memory store with the two reads VerifyIntegrity makes, counting the row reads. */
class FakeStore {
  rows: AuditRow[] = [];
  checkpointList: AuditCheckpoint[] = [];
  rowReads = 0;
  /** Read requests wait for this gate, so concurrent callers can be observed. */
  gate: Promise<void> = Promise.resolve();

  append(count: number) {
    const last = this.rows.at(-1);
    this.rows.push(...chainRows(eventsNamed(this.rows.length, count), last ? { seq: last.seq, hash: last.hash } : EMPTY_CHAIN).rows);
  }

  async checkpoints() {
    return this.checkpointList;
  }

  readonly limits: number[] = [];
  async rowsAfter(after: bigint, limit: number) {
    this.rowReads += 1;
    this.limits.push(limit);
    await this.gate;
    return this.rows.filter((r) => r.seq > after).slice(0, limit).map((r) => ({ ...r }));
  }
}

function setup(rows: number, batchSize?: number) {
  const store = new FakeStore();
  store.append(rows);
  return { store, verify: new VerifyIntegrity(store as unknown as AuditEventStore, signer.publicKey, batchSize) };
}

const unpaced = { rowsPerSecond: Infinity, onError: (err: unknown) => assert.fail(err as Error) };

describe('VerifyIntegrity', () => {
  it('shares one full run between concurrent callers', async () => {
    const { store, verify } = setup(30);
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const answers = Promise.all([verify.execute(), verify.execute()]);
    open();
    const [a, b] = await answers;
    assert.equal(store.rowReads, 1, 'one read of the 30 rows, not two');
    assert.equal(a, b);
    assert.equal(a.ok, true);
    assert.equal(a.checked, 30);
  });

  it('gives forced callers one run that starts after a run already in flight', async () => {
    const { store, verify } = setup(30);
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const inFlight = verify.execute();
    // these arrive while the first run may have read the rows already: they need a newer one
    const forced = Promise.all([verify.execute({ full: true }), verify.execute({ full: true })]);
    open();
    const [first, [b, c]] = await Promise.all([inFlight, forced]);
    assert.equal(store.rowReads, 2, 'the run in flight and one more, not one per caller');
    assert.equal(b, c);
    assert.notEqual(first, b);
    assert.ok(b.checked_at >= first.checked_at);
  });

  it('checks only the rows appended since the last full run, and counts them all', async () => {
    const { store, verify } = setup(30);
    const full = await verify.execute({ full: true });
    store.append(5);
    store.checkpointList = [signer.sign(35, store.rows[34]!.hash, new Date())];
    const reads = store.rowReads;
    const next = await verify.execute();
    assert.equal(store.rowReads - reads, 1);
    assert.equal(next.ok, true);
    assert.equal(next.checked, 35);
    assert.deepEqual(next.head, { seq: 35, hash: store.rows[34]!.hash });
    assert.equal(next.checkpoints?.checked, 1);
    assert.equal(next.checked_at, full.checked_at, 'the answer still rests on that full run for the old rows');
  });

  it('finds a bad appended row incrementally', async () => {
    const { store, verify } = setup(10);
    await verify.execute({ full: true });
    store.append(3);
    store.rows[11]!.outcome = 'denied';
    const next = await verify.execute();
    assert.equal(next.ok, false);
    assert.equal(next.first_bad_seq, 12);
    assert.equal(next.problem, 'hash_mismatch');
  });

  it('names a signed head that disagrees with the appended rows after the last good checkpoint', async () => {
    const { store, verify } = setup(10);
    store.checkpointList = [signer.sign(8, store.rows[7]!.hash, new Date())];
    await verify.execute({ full: true });
    store.append(5);
    store.checkpointList.push(signer.sign(15, store.rows[3]!.hash, new Date()));
    const next = await verify.execute();
    assert.equal(next.problem, 'checkpoint_mismatch');
    assert.equal(next.first_bad_seq, 9);
  });

  it('answers a stale verdict for an edited old row until a full run, which finds it', async () => {
    const { store, verify } = setup(20);
    await verify.execute({ full: true });
    store.rows[4]!.source = '/not/the/producer';
    assert.equal((await verify.execute()).ok, true, 'the cached verdict does not re-read old rows');
    const fresh = await verify.execute({ full: true });
    assert.equal(fresh.ok, false);
    assert.equal(fresh.first_bad_seq, 5);
    // a broken verdict stays the answer until a full run says otherwise
    assert.equal((await verify.execute()).first_bad_seq, 5);
  });

  it('finds an edited old row by the background run within its interval', async () => {
    const { store, verify } = setup(20);
    verify.startBackground({ ...unpaced, intervalMs: 50 });
    try {
      await verify.execute();
      store.rows[6]!.action = 'edited';
      const deadline = Date.now() + 5000;
      let answer = await verify.execute();
      while (answer.ok && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        answer = await verify.execute();
      }
      assert.equal(answer.first_bad_seq, 7);
    } finally {
      await verify.stopBackground();
    }
  });

  it('paces a background run at rowsPerSecond, and a caller does not wait for it', async () => {
    // 50 rows in batches of 10 at 100 rows/s: the background run takes at least 0.4 s
    const { store, verify } = setup(50, 10);
    const t0 = performance.now();
    verify.startBackground({ ...unpaced, rowsPerSecond: 100, intervalMs: 60_000 });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const readsBefore = store.rowReads;
      assert.ok(readsBefore <= 2, `paced: ${readsBefore} batches read after 50 ms`);
      // no verdict yet: the caller gets an unpaced run of its own (6 reads) at once
      const first = await verify.execute();
      assert.equal(first.ok, true);
      assert.equal(first.checked, 50);
      assert.ok(performance.now() - t0 < 300, `the caller waited ${(performance.now() - t0).toFixed(0)} ms`);
      await waitFor('the background run to read its 5 batches', () => store.rowReads >= readsBefore + 6 + 5, 5000, 20);
      assert.ok(performance.now() - t0 >= 390, `the background run read 50 rows in ${(performance.now() - t0).toFixed(0)} ms`);
    } finally {
      await verify.stopBackground();
    }
  });

  it('reads a paced run a tenth of a second of rows at a time, so each synchronous stretch is short; an unpaced one in full batches', async () => {
    const { store, verify } = setup(1200);
    verify.startBackground({ ...unpaced, rowsPerSecond: 5000, intervalMs: 60_000 });
    try {
      await waitFor('the paced run to read 3 batches', () => store.rowReads >= 3, 5000, 20);
      assert.deepEqual(store.limits, [500, 500, 500], '1,200 rows at 5,000 rows/s: three reads of 500');
      const forced = await verify.execute({ full: true });
      assert.equal(forced.ok, true);
      assert.equal(forced.checked, 1200);
      assert.equal(store.limits.at(-1), 5000, 'a caller\'s unpaced run reads full batches');
    } finally {
      await verify.stopBackground();
    }
  });

  it('stops a paced background run between batches', async () => {
    const { store, verify } = setup(100, 10);
    verify.startBackground({ ...unpaced, rowsPerSecond: 10, intervalMs: 60_000 });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await verify.stopBackground();
    assert.ok(performance.now() - t0 < 200, 'stopped without waiting out the pace');
    const reads = store.rowReads;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(store.rowReads, reads, 'no batch read after stopping');
  });
});

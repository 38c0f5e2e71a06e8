// AuditEventStore.append on a scratch database of the stack's PostgreSQL: batches are inserted
// optimistically, and a batch holding ids already stored (a redelivery) falls back to skipping
// them. Either way every id is stored once, seq stays gapless and the chain verifies.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import type { FedgateEvent } from '@fedgate/contracts';
import { AuditEventStore, ChainVerifier, checkpointPublicKey, recordOf } from '@fedgate/audit';
import { createPrismaClient, type PrismaClient } from '@fedgate/database';
import { readStackFile } from '@fedgate/stack';
import { createScratchDatabase, uniqueSuffix } from '@fedgate/testing';
import { systemTestEvents } from './audit-test-support';

const stack = readStackFile();

describe('AuditEventStore.append', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let prisma: PrismaClient;
  let pool: Pool;
  let store: AuditEventStore;

  before(async () => {
    scratch = await createScratchDatabase(stack.postgres.url, `fedgate_test_append_${uniqueSuffix().replace(/\W/g, '_')}`);
    prisma = createPrismaClient(scratch.databaseUrl, 2);
    pool = new Pool({ connectionString: scratch.databaseUrl, max: 2 });
    store = new AuditEventStore(prisma, pool);
  });

  after(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await scratch?.drop();
  });

  /** Every row, in seq order, and the verdict of the chain verifier over them. */
  async function chain(): Promise<{ ids: string[]; seqs: number[]; ok: boolean }> {
    const rows = await store.rowsAfter(0n, 100_000);
    const verifier = new ChainVerifier(checkpointPublicKey(generateKeyPairSync('ed25519').publicKey), []);
    for (const row of rows) verifier.add(recordOf(row));
    return { ids: rows.map((r) => r.id), seqs: rows.map((r) => Number(r.seq)), ok: verifier.finish().ok };
  }

  const nonce = `append-${uniqueSuffix()}`;
  const [a, b, c, d, e, f, g] = chunks(systemTestEvents(nonce, 7 * 2_500), 2_500) as [FedgateEvent[], FedgateEvent[], FedgateEvent[], FedgateEvent[], FedgateEvent[], FedgateEvent[], FedgateEvent[]];

  it('stores a new batch (larger than one INSERT chunk) in order, seq from 1', async () => {
    const result = await store.append(a);
    assert.deepEqual([result.stored, result.duplicates, Number(result.head.seq)], [2_500, 0, 2_500]);
    const now = await chain();
    assert.deepEqual(now.ids, a.map((x) => x.id));
    assert.ok(now.ok);
  });

  it('stores nothing when the whole batch is redelivered', async () => {
    const before = await store.head();
    const result = await store.append(a);
    assert.deepEqual([result.stored, result.duplicates], [0, 2_500]);
    assert.deepEqual(await store.head(), before);
  });

  it('stores only the new events of a batch mixing stored ids, repeats within it and new ones', async () => {
    // stored ids at the start, in the middle (past the first INSERT chunk) and at the end
    const mixed = [a[0]!, ...b.slice(0, 2_100), a[1_000]!, b[5]!, ...b.slice(2_100), a[2_499]!];
    const result = await store.append(mixed);
    assert.deepEqual([result.stored, result.duplicates, Number(result.head.seq)], [2_500, 4, 5_000]);
    const now = await chain();
    assert.deepEqual(now.ids, [...a, ...b].map((x) => x.id));
    assert.deepEqual(now.seqs, Array.from({ length: 5_000 }, (_, i) => i + 1));
    assert.ok(now.ok);
  });

  it('keeps one chain when batches are appended concurrently (the lock orders them)', async () => {
    const results = await Promise.all([store.append(c), store.append(d), store.append([...e, ...c.slice(0, 10)]), store.append(f), store.append(g)]);
    assert.equal(results.reduce((n, r) => n + r.stored, 0), 12_500);
    assert.equal(results.reduce((n, r) => n + r.duplicates, 0), 10);
    const now = await chain();
    assert.equal(now.ids.length, 17_500);
    assert.equal(new Set(now.ids).size, 17_500);
    assert.deepEqual(now.seqs, Array.from({ length: 17_500 }, (_, i) => i + 1));
    assert.ok(now.ok);
  });
});

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

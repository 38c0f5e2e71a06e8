import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool } from 'pg';
import { FedgateError } from '@fedgate/contracts';
import { createPrismaClient } from '@fedgate/database';
import { AuditEventStore } from './audit-event.store';

describe('AuditEventStore without a database', () => {
  it('fails reads closed with 503 dependency_unavailable, not a 500', { timeout: 30_000 }, async () => {
    // port 1 on loopback: nothing listens, the connection is refused at once
    const url = 'postgresql://nobody:nothing@127.0.0.1:1/none';
    const prisma = createPrismaClient(url, 1);
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      const store = new AuditEventStore(prisma, pool);
      for (const read of [() => store.rowsBefore(null, 10), () => store.rowsAfter(0n, 10), () => store.findById('x'), () => store.checkpoints(), () => store.head()]) {
        await assert.rejects(read, (err: unknown) => err instanceof FedgateError && err.code === 'dependency_unavailable' && err.status === 503);
      }
    } finally {
      await prisma.$disconnect();
      await pool.end();
    }
  });
});

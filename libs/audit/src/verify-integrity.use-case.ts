import type { IntegrityResponse } from '@fedgate/contracts';
import type { AuditEventStore } from './audit-event.store';
import { recordOf } from './audit-record';
import { ChainVerifier } from './chain-verifier';
import type { CheckpointPublicKey } from './checkpoint-key';

const VERIFY_BATCH = 5000;

/**
 * VerifyIntegrity: recomputes the whole chain from the database in seq order (keyset
 * batches, constant memory) and checks every checkpoint's signature and head hash.
 */
export class VerifyIntegrity {
  constructor(private readonly store: AuditEventStore, private readonly publicKey: CheckpointPublicKey) {}

  async execute(): Promise<IntegrityResponse> {
    // checkpoints first: each names a seq that exists by the time the rows are read
    const verifier = new ChainVerifier(this.publicKey, await this.store.checkpoints());
    let after = 0n;
    for (;;) {
      const rows = await this.store.rowsAfter(after, VERIFY_BATCH);
      for (const row of rows) if (!verifier.add(recordOf(row))) return verifier.finish();
      if (rows.length < VERIFY_BATCH) return verifier.finish();
      after = rows.at(-1)!.seq;
    }
  }
}

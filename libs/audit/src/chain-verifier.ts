import { AUDIT_GENESIS_HASH, auditEventHash, type AuditCheckpoint, type AuditEvent, type IntegrityProblem, type IntegrityResponse } from '@fedgate/contracts';
import { checkpointSignatureValid, type CheckpointPublicKey } from './checkpoint-key';

/**
 * Recomputes the chain from records fed in seq order (streaming: constant memory besides
 * the checkpoints) and checks every signed checkpoint against it. Stops at the first
 * problem. The service (GET /v1/integrity) and `fedgate audit verify` (from the exported
 * records, outside the service) use the same code.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = AUDIT_GENESIS_HASH;
  private checked = 0;
  private head: { seq: number; hash: string } | null = null;
  private problem: { seq: number; kind: IntegrityProblem } | null = null;
  private readonly checkpoints: AuditCheckpoint[];
  private nextCheckpoint = 0;
  private lastGoodCheckpointSeq = 0;
  private checkpointsChecked = 0;

  constructor(private readonly publicKey: CheckpointPublicKey, checkpoints: readonly AuditCheckpoint[]) {
    this.checkpoints = [...checkpoints].sort((a, b) => a.seq - b.seq);
  }

  get failed(): boolean {
    return this.problem !== null;
  }

  /** Checks the next record; answers false once a problem was found (feed no more). */
  add(record: AuditEvent): boolean {
    if (this.problem) return false;
    if (record.seq !== this.expectedSeq) return this.fail(this.expectedSeq, 'missing_seq');
    if (record.prev_hash !== this.prevHash) return this.fail(record.seq, 'prev_hash_mismatch');
    const { hash, ...unhashed } = record;
    if (auditEventHash(unhashed) !== hash) return this.fail(record.seq, 'hash_mismatch');
    while (this.nextCheckpoint < this.checkpoints.length && this.checkpoints[this.nextCheckpoint]!.seq === record.seq) {
      const checkpoint = this.checkpoints[this.nextCheckpoint++]!;
      if (!checkpointSignatureValid(checkpoint, this.publicKey)) return this.fail(checkpoint.seq, 'checkpoint_signature_invalid');
      // a chain recomputed after an edit is consistent in itself; only the signed head tells
      if (checkpoint.head_hash !== hash) return this.fail(this.lastGoodCheckpointSeq + 1, 'checkpoint_mismatch');
      this.lastGoodCheckpointSeq = checkpoint.seq;
      this.checkpointsChecked += 1;
    }
    this.checked += 1;
    this.expectedSeq += 1;
    this.prevHash = hash;
    this.head = { seq: record.seq, hash };
    return true;
  }

  /** The verdict, once every record has been fed. */
  finish(): IntegrityResponse {
    if (!this.problem) {
      const beyond = this.checkpoints.slice(this.nextCheckpoint);
      // a checkpoint past the last row: the tail of the chain was cut off
      const orphan = beyond.find((c) => c.seq >= this.expectedSeq);
      if (orphan) {
        const signed = checkpointSignatureValid(orphan, this.publicKey);
        this.fail(signed ? this.expectedSeq : orphan.seq, signed ? 'missing_seq' : 'checkpoint_signature_invalid');
      }
    }
    const latest = this.checkpoints.filter((c) => c.seq <= this.lastGoodCheckpointSeq).at(-1);
    return {
      ok: this.problem === null,
      checked: this.checked,
      head: this.head,
      ...(this.problem ? { first_bad_seq: this.problem.seq, problem: this.problem.kind } : {}),
      checkpoints: { checked: this.checkpointsChecked, latest: latest ? { seq: latest.seq, time: latest.time } : null },
      public_key: this.publicKey.pem,
      key_id: this.publicKey.keyId,
    };
  }

  private fail(seq: number, kind: IntegrityProblem): false {
    this.problem ??= { seq, kind };
    return false;
  }
}

import { AUDIT_GENESIS_HASH, auditEventHash, checkpointsEqual, type AuditCheckpoint, type AuditEvent, type IntegrityProblem, type IntegrityResponse, type TrustedHead } from '@fedgate/contracts';
import { checkpointSignatureValid, type CheckpointPublicKey } from './checkpoint-key';

/**
 * Heads trusted from outside the database: the service's own checkpoint log (file and topic),
 * or checkpoints an auditor kept. A chain recomputed after an edit, or cut short, is consistent
 * in itself; only a head held elsewhere shows it is not the chain that was signed.
 */
export interface TrustedHeads {
  heads: readonly TrustedHead[];
  /**
   * Each trusted head must also be among the stored checkpoints, identical (the service: a
   * checkpoint deleted or altered in the database is named as `checkpoint_missing`).
   */
  requireStored: boolean;
}

/**
 * Recomputes the chain from records fed in seq order (streaming: constant memory besides
 * the checkpoints) and checks every signed checkpoint, and every trusted head, against it.
 * Stops at the first problem. The service (GET /v1/integrity) and `fedgate audit verify`
 * (from the exported records, outside the service) use the same code.
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
  private readonly trusted: TrustedHead[];
  private nextTrusted = 0;
  private trustedChecked = 0;
  private truncatedAt: number | null = null;
  private readonly stored: Map<number, AuditCheckpoint>;

  /**
   * `after`: continue a chain already verified up to this row (an incremental check of the
   * rows appended since), whose last good checkpoint was `checkpointSeq`; only the checkpoints
   * past it are checked. Default: from genesis.
   */
  constructor(
    private readonly publicKey: CheckpointPublicKey,
    checkpoints: readonly AuditCheckpoint[],
    after?: { seq: number; hash: string; checkpointSeq: number },
    private readonly trustedHeads?: TrustedHeads,
  ) {
    this.checkpoints = [...checkpoints].filter((c) => after === undefined || c.seq > after.seq).sort((a, b) => a.seq - b.seq);
    this.trusted = [...(trustedHeads?.heads ?? [])].filter((c) => after === undefined || c.seq > after.seq).sort((a, b) => a.seq - b.seq);
    this.stored = new Map(this.checkpoints.map((c) => [c.seq, c]));
    if (after) {
      this.expectedSeq = after.seq + 1;
      this.prevHash = after.hash;
      this.lastGoodCheckpointSeq = after.checkpointSeq;
    }
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
    while (this.nextTrusted < this.trusted.length && this.trusted[this.nextTrusted]!.seq === record.seq) {
      const trusted = this.trusted[this.nextTrusted++]!;
      if (trusted.head_hash !== hash) return this.fail(this.lastGoodCheckpointSeq + 1, 'checkpoint_mismatch');
      if (this.trustedHeads?.requireStored && !sameCheckpoint(this.stored.get(trusted.seq), trusted)) return this.fail(trusted.seq, 'checkpoint_missing');
      this.lastGoodCheckpointSeq = Math.max(this.lastGoodCheckpointSeq, trusted.seq);
      this.trustedChecked += 1;
    }
    this.checked += 1;
    this.expectedSeq += 1;
    this.prevHash = hash;
    this.head = { seq: record.seq, hash };
    return true;
  }

  /** The verdict, once every record has been fed. */
  finish(): IntegrityResponse {
    // a trusted head past the last row: the tail that was signed is gone
    // (the rows after the last checkpoint still matched are unproven too: named from there)
    if (!this.problem && this.trusted.slice(this.nextTrusted).some((t) => t.seq >= this.expectedSeq)) {
      this.truncatedAt = this.expectedSeq;
      this.fail(this.lastGoodCheckpointSeq + 1, 'truncated');
    }
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
      ...(this.truncatedAt === null ? {} : { truncated_at: this.truncatedAt }),
      checkpoints: { checked: this.checkpointsChecked, latest: latest ? { seq: latest.seq, time: latest.time } : null },
      ...(this.trustedHeads ? { trusted: { checked: this.trustedChecked, latest_seq: this.trusted.slice(0, this.nextTrusted).at(-1)?.seq ?? null } } : {}),
      public_key: this.publicKey.pem,
      key_id: this.publicKey.keyId,
    };
  }

  private fail(seq: number, kind: IntegrityProblem): false {
    this.problem ??= { seq, kind };
    return false;
  }
}

/** The stored checkpoint is the trusted one (a bare seq:hash trusts any stored checkpoint of that head). */
function sameCheckpoint(stored: AuditCheckpoint | undefined, trusted: TrustedHead): boolean {
  if (!('signature' in trusted)) return stored?.head_hash === trusted.head_hash;
  return checkpointsEqual(stored, trusted as AuditCheckpoint);
}

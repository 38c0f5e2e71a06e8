import { AUDIT_CHECKPOINT_GENESIS_HASH, auditCheckpointHash, checkpointsEqual, type AuditCheckpoint, type IntegrityProblem, type IntegrityResponse } from '@fedgate/contracts';
import type { AuditEventStore } from './audit-event.store';
import { checkpointSignatureValid, type CheckpointSigner } from './checkpoint-key';
import { CheckpointLogError, type ExternalCheckpoints } from './checkpoint-log';

// Rows per read of the link proof.
const LINK_BATCH = 10_000;

/** Why the log in the database no longer extends the last checkpoint signed (kept outside it). */
export interface ChainBreach {
  problem: IntegrityProblem;
  /** The first seq the log no longer proves. */
  first_bad_seq: number;
  /** For a truncation: the first seq missing at the end. */
  truncated_at?: number;
  /** The last checkpoint signed. */
  checkpoint: { seq: number; head_hash: string };
  /** The head in the database now. */
  head: { seq: number; hash: string } | null;
}

export type SignOutcome =
  | { kind: 'signed'; checkpoint: AuditCheckpoint }
  /** Nothing was added since the last checkpoint (and the log still extends it). */
  | { kind: 'unchanged' }
  /** The checkpoint log outside the database cannot be loaded yet (Kafka down and no file): try later. */
  | { kind: 'unavailable'; reason: string }
  /** The log was truncated or rewritten: nothing is signed. `first` is true the first time this breach is found. */
  | { kind: 'refused'; breach: ChainBreach; first: boolean };

const breachKey = (b: ChainBreach) => `${b.problem}:${b.first_bad_seq}:${b.checkpoint.seq}`;

/**
 * SignCheckpoint: signs (seq, head hash, time, previous checkpoint's hash) of the current head
 * when the chain grew, and keeps the checkpoint in the database, the checkpoint file and the
 * checkpoint topic (ExternalCheckpoints).
 *
 * It never signs a rewrite. Before signing it proves, against the last checkpoint it signed
 * (read from outside the database), that the database's log still extends it: the row at that
 * seq still has that hash, every row after links to the one before (seq gap-free, prev_hash =
 * hash), and the database still holds the checkpoints signed since the last proof. Otherwise it
 * refuses (`refused`, with where the log stopped extending it) until the log extends it again.
 *
 * The proof covers the chain's links, not each new row's content (a row whose content no longer
 * hashes to its hash is `hash_mismatch` for every verifier anyway): it reads three columns.
 * The very first checkpoint of a log rests on a full verification instead (`verifyAll`).
 */
export class SignCheckpoint {
  private breach: ChainBreach | null = null;
  private reported: string | null = null;
  /** External checkpoints already found identical in the database. */
  private storedChecked = 0;

  constructor(
    private readonly store: AuditEventStore,
    private readonly signer: CheckpointSigner,
    private readonly external: ExternalCheckpoints,
    private readonly verifyAll: () => Promise<IntegrityResponse>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The id of the signing key (names the log in alerts). */
  get keyId(): string {
    return this.signer.publicKey.keyId;
  }

  /** The breach found by the last attempt, if it refused. */
  get currentBreach(): ChainBreach | null {
    return this.breach;
  }

  async execute(): Promise<SignOutcome> {
    try {
      await this.external.sync();
    } catch (err) {
      // not loaded, or the file is not our chain, or file and topic disagree: nothing to prove against
      if (!this.external.loaded || err instanceof CheckpointLogError) return { kind: 'unavailable', reason: (err as Error).message };
      // loaded, only Kafka is down: sign on (the file has it), publish at a later sync
    }
    await this.adoptStoredTail();
    const last = this.external.last();
    const head = await this.store.head();
    const current = head === null ? null : { seq: Number(head.seq), hash: head.hash };
    if (last === null) {
      // the log's first checkpoint outside the database: only past the database's own (a log
      // signed before checkpoints left it) and only over a fully verified chain
      if (current === null || BigInt(current.seq) <= (await this.store.lastCheckpointSeq())) return { kind: 'unchanged' };
      const verdict = await this.verifyAll();
      if (!verdict.ok) return this.refuse({ problem: verdict.problem ?? 'hash_mismatch', first_bad_seq: verdict.first_bad_seq ?? 1, checkpoint: { seq: 1, head_hash: AUDIT_CHECKPOINT_GENESIS_HASH }, head: current });
    } else {
      const breach = await this.prove(last, current);
      if (breach) return this.refuse(breach);
    }
    this.breach = null;
    this.reported = null;
    if (current === null || (last !== null && current.seq <= last.seq)) return { kind: 'unchanged' };
    const checkpoint = this.signer.sign(current.seq, current.hash, this.now(), last === null ? AUDIT_CHECKPOINT_GENESIS_HASH : auditCheckpointHash(last));
    // database first: a crash before the file leaves a signed checkpoint there that adoptStoredTail keeps
    await this.store.addCheckpoint(checkpoint);
    await this.external.append(checkpoint).catch(() => undefined);
    return { kind: 'signed', checkpoint };
  }

  private refuse(breach: ChainBreach): SignOutcome {
    this.breach = breach;
    const first = this.reported !== breachKey(breach);
    return { kind: 'refused', breach, first };
  }

  /** The caller has reported this breach (alert sent): later refusals of the same breach are not `first`. */
  markReported(breach: ChainBreach): void {
    this.reported = breachKey(breach);
  }

  /**
   * Checkpoints in the database past the external log's last that this key signed and that
   * continue its chain: signed before a crash that came before the file was written. Kept now.
   */
  private async adoptStoredTail(): Promise<void> {
    let last = this.external.last();
    if (last === null) return;
    for (const stored of await this.store.checkpointsAfter(last.seq)) {
      if (stored.prev_checkpoint_hash !== auditCheckpointHash(last) || !checkpointSignatureValid(stored, this.signer.publicKey)) return;
      await this.external.append(stored).catch(() => undefined);
      last = stored;
    }
  }

  private async prove(last: AuditCheckpoint, head: { seq: number; hash: string } | null): Promise<ChainBreach | null> {
    const at = { checkpoint: { seq: last.seq, head_hash: last.head_hash }, head };
    const headSeq = head?.seq ?? 0;
    if (headSeq < last.seq) {
      const { firstUnproven, mismatch } = await this.lastMatch(headSeq);
      return { problem: mismatch ? 'checkpoint_mismatch' : 'truncated', first_bad_seq: firstUnproven, truncated_at: headSeq + 1, ...at };
    }
    const hashes = await this.store.hashesAt([last.seq]);
    if (hashes.get(last.seq) !== last.head_hash) return { problem: 'checkpoint_mismatch', first_bad_seq: (await this.lastMatch(headSeq)).firstUnproven, ...at };
    // the rows after it link to it and to each other
    let prev = { seq: last.seq, hash: last.head_hash };
    while (prev.seq < headSeq) {
      const links = await this.store.linksAfter(prev.seq, LINK_BATCH);
      if (links.length === 0) return { problem: 'missing_seq', first_bad_seq: prev.seq + 1, ...at };
      for (const link of links) {
        if (link.seq !== prev.seq + 1) return { problem: 'missing_seq', first_bad_seq: prev.seq + 1, ...at };
        if (link.prevHash !== prev.hash) return { problem: 'prev_hash_mismatch', first_bad_seq: link.seq, ...at };
        prev = link;
      }
    }
    // the checkpoints signed since the last proof are still in the database, unchanged
    const signed = this.external.all();
    const fresh = signed.slice(Math.min(this.storedChecked, signed.length - 1));
    const stored = new Map((await this.store.checkpointsAt(fresh.map((c) => c.seq))).map((c) => [c.seq, c]));
    const gone = fresh.find((c) => !checkpointsEqual(stored.get(c.seq), c));
    if (gone) return { problem: 'checkpoint_missing', first_bad_seq: gone.seq, ...at };
    this.storedChecked = signed.length;
    return null;
  }

  /**
   * The first seq the rows up to `headSeq` no longer prove: the one after the last checkpoint
   * signed whose head the database still has (checked oldest first; `mismatch` when a later one
   * differs). A hash chain names the place to within one checkpoint interval: the rows in between
   * are kept nowhere else to compare with.
   */
  private async lastMatch(headSeq: number): Promise<{ firstUnproven: number; mismatch: boolean }> {
    const signed = this.external.all().filter((c) => c.seq <= headSeq);
    const hashes = await this.store.hashesAt(signed.map((c) => c.seq));
    const index = signed.findIndex((c) => hashes.get(c.seq) !== c.head_hash);
    const matched = index === -1 ? signed : signed.slice(0, index);
    return { firstUnproven: (matched.at(-1)?.seq ?? 0) + 1, mismatch: index !== -1 };
  }
}

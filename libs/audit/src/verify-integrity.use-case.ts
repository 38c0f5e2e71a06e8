import { setTimeout as delay } from 'node:timers/promises';
import type { AuditCheckpoint, IntegrityResponse } from '@fedgate/contracts';
import type { AuditEventStore } from './audit-event.store';
import { recordOf } from './audit-record';
import { ChainVerifier } from './chain-verifier';
import type { CheckpointPublicKey } from './checkpoint-key';
import type { ChainBreach } from './sign-checkpoint.use-case';

const VERIFY_BATCH = 5000;
const PACED_BATCH_MIN = 50;

/** How the background re-verification runs. */
export interface BackgroundVerification {
  /** Pause between the end of one full run and the start of the next. */
  intervalMs: number;
  /**
   * Rows verified per second at most (Infinity: as fast as it can). A full run costs CPU linear
   * in the log, so an unpaced one would take a core for minutes every interval once the log is
   * large; paced, it takes a bounded share and the run takes longer instead.
   */
  rowsPerSecond: number;
  /** Told about a failed run; the next one starts an interval later. */
  onError: (err: unknown) => void;
}

/** Keyset pacing of one run: waits after a batch until `rows` are due at the given rate. */
interface Pace {
  rowsPerSecond: number;
  signal: AbortSignal;
}

/** The checkpoints kept outside the database, and what the signer last found wrong against them. */
export interface TrustedCheckpointSource {
  /** Every checkpoint signed, oldest first (ExternalCheckpoints.all). */
  all(): readonly AuditCheckpoint[];
  /** The breach the signer refused to sign over, if any (SignCheckpoint.currentBreach). */
  breach(): ChainBreach | null;
}

/** What GET /v1/integrity answers: the chain verdict and when the full run it rests on started. */
export type IntegrityVerdict = IntegrityResponse & { checked_at: string };

/** A verdict over seq 1..head: the last full run, extended by the incremental checks since. */
interface Verified {
  verdict: IntegrityVerdict;
  /** Start of the full run: rows edited before it are caught; later edits of old rows by the next full run. */
  startedAt: number;
}

/**
 * VerifyIntegrity: recomputes the chain from the database in seq order (keyset batches,
 * constant memory) and checks every checkpoint's signature and head hash.
 *
 * A full run costs time linear in the log, so callers do not each pay it: a full run is
 * single-flight (concurrent callers share it), runs in the background, paced, an interval after
 * the last one ended (`startBackground`), and a plain `execute()` answers the latest full
 * verdict extended by an incremental check of the rows appended since its head (from the last
 * verified seq and hash). `execute({ full: true })` forces a fresh full run. Edits of OLD rows
 * are therefore found by the next full run (at most one interval plus one run later), never
 * missed. A caller never waits for the paced background run: with no verdict yet, or when
 * forcing one, it gets an unpaced run of its own.
 */
export class VerifyIntegrity {
  private verified: Verified | null = null;
  private fullRun: Promise<Verified> | null = null;
  private nextFullRun: Promise<Verified> | null = null;
  private incrementalRun: Promise<Verified> | null = null;
  private background: { stop: AbortController; done: Promise<void> } | null = null;

  constructor(
    private readonly store: AuditEventStore,
    private readonly publicKey: CheckpointPublicKey,
    private readonly batchSize = VERIFY_BATCH,
    /** Checkpoints kept outside the database: the log must extend them (none: internal consistency only). */
    private readonly trusted?: TrustedCheckpointSource,
  ) {}

  async execute(options: { full?: boolean } = {}): Promise<IntegrityVerdict> {
    if (options.full) return (await this.freshFull()).verdict;
    const verdict = this.verified === null ? (await this.full()).verdict : (await this.incremental()).verdict;
    // the signer proves the log against its last checkpoint every interval: between full runs, its refusal is news
    const breach = this.trusted?.breach();
    if (!verdict.ok || !breach) return verdict;
    return { ...verdict, ok: false, first_bad_seq: breach.first_bad_seq, problem: breach.problem, ...(breach.truncated_at ? { truncated_at: breach.truncated_at } : {}) };
  }

  /** Paced full runs, the first at once, each `intervalMs` after the last ended, until stopBackground. */
  startBackground(options: BackgroundVerification): void {
    if (this.background) return;
    const stop = new AbortController();
    const loop = async () => {
      while (!stop.signal.aborted) {
        try {
          await this.runFull({ rowsPerSecond: options.rowsPerSecond, signal: stop.signal });
        } catch (err) {
          if (!stop.signal.aborted) options.onError(err);
        }
        await delay(options.intervalMs, undefined, { signal: stop.signal, ref: false }).catch(() => undefined);
      }
    };
    this.background = { stop, done: loop() };
  }

  /** Stops the background runs; a paced run in flight ends after its current batch. */
  async stopBackground(): Promise<void> {
    const background = this.background;
    this.background = null;
    background?.stop.abort();
    await background?.done;
  }

  /** The unpaced full run in flight, or a new one: shared by every caller while it runs. */
  private full(): Promise<Verified> {
    this.fullRun ??= this.runFull().finally(() => {
      this.fullRun = null;
    });
    return this.fullRun;
  }

  private async runFull(pace?: Pace): Promise<Verified> {
    const startedAt = Date.now();
    const verdict = await this.verify(undefined, pace);
    return this.keep({ verdict: { ...verdict, checked_at: new Date(startedAt).toISOString() }, startedAt });
  }

  /**
   * A full run that starts after this call: one in flight may have read the rows before a
   * change the caller wants checked, so callers arriving meanwhile share one run after it.
   */
  private freshFull(): Promise<Verified> {
    if (this.fullRun === null) return this.full();
    this.nextFullRun ??= this.fullRun
      .catch(() => undefined)
      .then(() => {
        this.nextFullRun = null;
        return this.full();
      });
    return this.nextFullRun;
  }

  /** The kept verdict extended over the rows appended since its head; shared while in flight. */
  private incremental(): Promise<Verified> {
    this.incrementalRun ??= (async () => {
      try {
        const base = this.verified!;
        const { verdict } = base;
        // a broken chain stays broken until a full run says otherwise
        if (!verdict.ok) return base;
        const tail = await this.verify(verdict.head ? { ...verdict.head, checkpointSeq: verdict.checkpoints?.latest?.seq ?? 0 } : undefined);
        const latest = tail.checkpoints?.latest ?? verdict.checkpoints?.latest ?? null;
        const extended: Verified = {
          startedAt: base.startedAt,
          verdict: {
            ...tail,
            checked: verdict.checked + tail.checked,
            head: tail.head ?? verdict.head,
            checkpoints: { checked: (verdict.checkpoints?.checked ?? 0) + (tail.checkpoints?.checked ?? 0), latest },
            ...(verdict.trusted
              ? { trusted: { checked: verdict.trusted.checked + (tail.trusted?.checked ?? 0), latest_seq: tail.trusted?.latest_seq ?? verdict.trusted.latest_seq } }
              : {}),
            checked_at: verdict.checked_at,
          },
        };
        return this.keep(extended, base);
      } finally {
        this.incrementalRun = null;
      }
    })();
    return this.incrementalRun;
  }

  /**
   * Keeps a result unless a newer full run's is kept already (a slow run finishing late must
   * not replace a fresher verdict); an incremental one only over the base it extended.
   */
  private keep(result: Verified, base?: Verified): Verified {
    const current = this.verified;
    const newer = base === undefined ? current === null || result.startedAt >= current.startedAt : current === base;
    if (newer) this.verified = result;
    return result;
  }

  /** Streams the rows after `after` (all rows when undefined) through one ChainVerifier. */
  private async verify(after: { seq: number; hash: string; checkpointSeq: number } | undefined, pace?: Pace): Promise<IntegrityResponse> {
    // trusted heads before the stored checkpoints (each is stored before it is kept outside), and
    // both before the rows: each names a seq that exists by the time the rows are read
    const heads = this.trusted ? [...this.trusted.all()] : undefined;
    const verifier = new ChainVerifier(this.publicKey, await this.store.checkpoints(), after, heads ? { heads, requireStored: true } : undefined);
    let cursor = BigInt(after?.seq ?? 0);
    const started = performance.now();
    let read = 0;
    // a batch is verified in one synchronous stretch: paced, a tenth of a second's rows at a time,
    // so the stretch stays short (5,000 rows held the event loop, ingest and queries, 100–250 ms)
    const batchSize = pace ? Math.min(this.batchSize, Math.max(PACED_BATCH_MIN, Math.round(pace.rowsPerSecond / 10))) : this.batchSize;
    for (;;) {
      const rows = await this.store.rowsAfter(cursor, batchSize);
      for (const row of rows) if (!verifier.add(recordOf(row))) return verifier.finish();
      if (rows.length < batchSize) return verifier.finish();
      cursor = rows.at(-1)!.seq;
      read += rows.length;
      if (pace) {
        // throws when stopped: an unfinished run gives no verdict
        const due = started + (read / pace.rowsPerSecond) * 1000 - performance.now();
        if (due > 0) await delay(due, undefined, { signal: pace.signal, ref: false });
        pace.signal.throwIfAborted();
      }
    }
  }
}

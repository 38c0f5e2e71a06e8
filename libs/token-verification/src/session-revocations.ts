import { DependencyUnavailableError } from '@fedgate/contracts';
import type { RevokedSessionRow, RevokedSessionsRead } from '@fedgate/database';

/** Where the durable list of revoked sessions lives (SessionRevocationStore of @fedgate/database). */
export interface SessionRevocationSource {
  revokedSessions(since?: string): Promise<RevokedSessionsRead>;
  sessionOfToken(tokenHash: string): Promise<string | undefined>;
}

export interface SessionRevocationsOptions {
  /** Pause between two reads of the durable list (default 500 ms): how late a revocation can be when Kafka is down. */
  refreshMs?: number;
  /** Longest time without a successful read before verifications are refused with 503 revocation_unavailable (default 5000 ms). */
  maxStalenessMs?: number;
  now?: () => number;
  /** Told about each failed read (for logs); the loop keeps trying. */
  onReadFailure?: (err: unknown) => void;
}

/** What a token says about its session: Fedgate's login session and/or the IdP's `sid`. */
export interface TokenSession {
  session_id?: string;
  sid?: string;
}

/**
 * The revoked sessions, complete before anything verifies. The durable list in PostgreSQL is
 * the truth: it is read whole at start and then every `refreshMs` (new rows only), so a
 * verifier that starts or runs while Kafka is down still refuses every session revoked
 * before. Session-revoked events from Kafka are added at once (`add`), so a logout reaches
 * every instance sooner than the next read. There is no size cap: a revocation is forgotten
 * only after its `forget_after`, when no token of the session can still be valid.
 *
 * Fails closed: until the first read succeeded, or when no read succeeded for
 * `maxStalenessMs`, `assertComplete` throws 503 `revocation_unavailable`.
 * One instance serves one process (the token-service, the authz-service).
 */
export class SessionRevocations {
  private readonly sessions = new Map<string, number>();
  private readonly sids = new Map<string, number>();
  private readonly refreshMs: number;
  private readonly maxStalenessMs: number;
  private readonly now: () => number;
  private lastRead: { at: number; asOf: string } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private reading: Promise<void> | null = null;
  private lastPurge = 0;

  constructor(private readonly source: SessionRevocationSource, private readonly options: SessionRevocationsOptions = {}) {
    this.refreshMs = options.refreshMs ?? 500;
    this.maxStalenessMs = options.maxStalenessMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** Starts following the durable list (the first read begins at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Reads the durable list now (whole the first time, new rows after); throws when PostgreSQL cannot answer. */
  refresh(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const startedAt = this.now();
        const read = await this.source.revokedSessions(this.lastRead?.asOf);
        for (const s of read.sessions) this.add(s);
        this.lastRead = { at: startedAt, asOf: read.asOf };
        if (startedAt - this.lastPurge > 60_000) this.purge(startedAt);
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  /** A revoked session (from the durable list or a session-revoked event). */
  add(session: RevokedSessionRow): void {
    if (!(session.forget_after > this.now())) return;
    remember(this.sessions, session.session_id, session.forget_after);
    if (session.idp_sid) remember(this.sids, session.idp_sid, session.forget_after);
  }

  /** Whether the list is known complete up to moments ago. */
  get complete(): boolean {
    return this.lastRead !== null && this.now() - this.lastRead.at <= this.maxStalenessMs;
  }

  /** @throws DependencyUnavailableError revocation_unavailable when the list is not known complete. */
  assertComplete(): void {
    if (this.complete) return;
    throw new DependencyUnavailableError(
      'revocation_unavailable',
      'revocations',
      this.lastRead === null ? 'The list of revoked sessions has not been read yet; retry.' : 'The list of revoked sessions could not be read recently; retry.',
    );
  }

  /** Whether the token's session (Fedgate's, or the IdP's sid) is revoked. Throws when the list is not complete. */
  isRevoked(token: TokenSession): boolean {
    this.assertComplete();
    const now = this.now();
    return (token.session_id !== undefined && alive(this.sessions, token.session_id, now)) || (token.sid !== undefined && alive(this.sids, token.sid, now));
  }

  /** The login session a token was issued in (tokens that went through the login-service). */
  sessionOfToken(tokenHash: string): Promise<string | undefined> {
    return this.source.sessionOfToken(tokenHash);
  }

  /** For /readyz: up once the list is read and kept fresh. */
  readinessCheck(name = 'revocations') {
    return { name, check: async () => this.assertComplete() };
  }

  get size(): { sessions: number; sids: number } {
    return { sessions: this.sessions.size, sids: this.sids.size };
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    try {
      await this.refresh();
    } catch (err) {
      this.options.onReadFailure?.(err);
    }
    if (this.running) {
      this.timer = setTimeout(() => void this.loop(), this.refreshMs);
      this.timer.unref?.();
    }
  }

  private purge(now: number): void {
    this.lastPurge = now;
    for (const map of [this.sessions, this.sids]) for (const [key, until] of map) if (until <= now) map.delete(key);
  }
}

function remember(map: Map<string, number>, key: string, until: number): void {
  const known = map.get(key);
  if (known === undefined || known < until) map.set(key, until);
}

function alive(map: Map<string, number>, key: string, now: number): boolean {
  const until = map.get(key);
  return until !== undefined && until > now;
}

import type { Pool } from 'pg';
import { GroupedCalls } from '@fedgate/platform';
import type { DatabaseTransaction } from './prisma.service';

/** A revoked login session as the verifiers hold it. */
export interface RevokedSessionRow {
  session_id: string;
  /** The IdP's session id, when the IdP sent one. */
  idp_sid?: string;
  /** Epoch ms after which no token of the session can still be valid: the row may be forgotten. */
  forget_after: number;
}

/** A read of the revoked sessions and the database clock it was made at. */
export interface RevokedSessionsRead {
  sessions: RevokedSessionRow[];
  /** PostgreSQL's now() of the read, as text (microseconds kept): the next read's `since`. */
  asOf: string;
}

// A revocation's revoked_at is its transaction's start; one committed later than a read that
// already passed that time is still found by the next reads through this overlap (a
// revocation transaction is a few statements, far shorter).
const READ_OVERLAP = '60 seconds';

/**
 * `session_revocation` in PostgreSQL: the durable, complete list of revoked sessions. The
 * login-service writes a row in the transaction that revokes the session; verifiers read it
 * (`@fedgate/token-verification`'s SessionRevocations) and map tokens to their session
 * through `session_token`.
 */
export class SessionRevocationStore {
  // sessionOfToken's lookups: one query in flight, the lookups that arrive meanwhile go in the next
  private readonly lookups: GroupedCalls<string, string | undefined>;

  constructor(private readonly pool: Pool) {
    this.lookups = new GroupedCalls((hashes) => this.sessionsOf(hashes), { maxInFlight: 1, maxBatch: 1000, maxWaiting: 2000, name: 'session lookups' });
  }

  /** Records a revocation in the caller's transaction; a session revoked twice keeps its first row. */
  static async record(tx: DatabaseTransaction, row: { sessionId: string; idpSid?: string | null; flwrAid: string; reason: string; retainSeconds: number }): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO session_revocation (session_id, idp_sid, flwr_aid, reason, forget_after)
      VALUES (${row.sessionId}::uuid, ${row.idpSid ?? null}, ${row.flwrAid}, ${row.reason}, now() + make_interval(secs => ${row.retainSeconds}::float8))
      ON CONFLICT (session_id) DO NOTHING`;
  }

  /** Revoked sessions not yet forgotten; with `since` (an earlier read's asOf), only those revoked about then or later. */
  async revokedSessions(since?: string): Promise<RevokedSessionsRead> {
    // the clock first: a row committed during the read is then found again by the next one
    const { rows: [clock] } = await this.pool.query<{ as_of: string }>('SELECT now()::text AS as_of');
    const { rows } = await this.pool.query<{ session_id: string; idp_sid: string | null; forget_after_ms: string }>(
      `SELECT session_id, idp_sid, (extract(epoch FROM forget_after) * 1000)::bigint::text AS forget_after_ms
       FROM session_revocation
       WHERE forget_after > now() AND ($1::timestamptz IS NULL OR revoked_at >= $1::timestamptz - interval '${READ_OVERLAP}')`,
      [since ?? null],
    );
    const sessions = rows.map((r) => ({ session_id: r.session_id, forget_after: Number(r.forget_after_ms), ...(r.idp_sid ? { idp_sid: r.idp_sid } : {}) }));
    return { sessions, asOf: clock!.as_of };
  }

  /**
   * The login session a token was issued in, for tokens that went through the login-service.
   * Asked once per token not yet cached, on every verification's hot path: the lookups that
   * arrive while one query is in flight go together in the next (`token_hash = ANY`), so under
   * load one round trip serves a group of them, and an idle one is not delayed. A failed query
   * fails every lookup of its group (each caller answers 503); past 2,000 waiting, a lookup is
   * refused at once with 503 `overloaded`.
   */
  sessionOfToken(tokenHash: string): Promise<string | undefined> {
    return this.lookups.call(tokenHash);
  }

  private async sessionsOf(hashes: string[]): Promise<Array<string | undefined>> {
    // a named statement: parsed and planned once per connection
    const { rows } = await this.pool.query<{ token_hash: string; session_id: string }>({
      name: 'fedgate-sessions-of-tokens',
      text: 'SELECT token_hash, session_id FROM session_token WHERE token_hash = ANY($1::text[])',
      values: [[...new Set(hashes)]],
    });
    const sessions = new Map(rows.map((r) => [r.token_hash, r.session_id]));
    return hashes.map((hash) => sessions.get(hash));
  }

  /** Deletes the rows past their forget_after; answers how many. */
  async forgetExpired(): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM session_revocation WHERE forget_after <= now()');
    return rowCount ?? 0;
  }
}

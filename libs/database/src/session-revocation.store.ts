import type { Pool } from 'pg';
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
  constructor(private readonly pool: Pool) {}

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

  /** The login session a token was issued in, for tokens that went through the login-service. */
  async sessionOfToken(tokenHash: string): Promise<string | undefined> {
    // once per token not yet cached, on every verifying service's hot path: a named statement is
    // parsed and planned once per connection, not on each call
    const { rows } = await this.pool.query<{ session_id: string }>({ name: 'fedgate-session-of-token', text: 'SELECT session_id FROM session_token WHERE token_hash = $1', values: [tokenHash] });
    return rows[0]?.session_id;
  }

  /** Deletes the rows past their forget_after; answers how many. */
  async forgetExpired(): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM session_revocation WHERE forget_after <= now()');
    return rowCount ?? 0;
  }
}

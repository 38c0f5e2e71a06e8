import { randomUUID } from 'node:crypto';
import { Account, sha256Hex } from '@fedgate/contracts';
import { SessionRevocationStore, type DatabaseTransaction } from '@fedgate/database';
import type { IdpTokens } from './identity-provider.client';
import type { SessionPolicy } from './login-settings';

/** Hashes of what the IdP issued, as stored and published (never the tokens). */
export interface IssuedTokenHashes {
  access: string;
  refresh?: string;
}

export function hashesOf(tokens: IdpTokens): IssuedTokenHashes {
  return { access: sha256Hex(tokens.access_token), refresh: tokens.refresh_token ? sha256Hex(tokens.refresh_token) : undefined };
}

function expiry(tokens: IdpTokens): Date | undefined {
  return tokens.expires_in ? new Date(Date.now() + tokens.expires_in * 1000) : undefined;
}

/** Sessions and their token hashes in PostgreSQL: one refresh-token family per session. */
export const SessionStore = {
  async open(tx: DatabaseTransaction, account: Account, clientId: string, tokens: IdpTokens): Promise<{ sessionId: string; hashes: IssuedTokenHashes }> {
    const sessionId = randomUUID();
    const hashes = hashesOf(tokens);
    await tx.loginSession.create({ data: { id: sessionId, flwrAid: account.flwr_aid, accountName: account.account_name, clientId, idpSid: tokens.sid } });
    await SessionStore.addTokens(tx, sessionId, tokens, hashes);
    return { sessionId, hashes };
  },

  async addTokens(tx: DatabaseTransaction, sessionId: string, tokens: IdpTokens, hashes: IssuedTokenHashes): Promise<void> {
    // an expired token is refused anyway: its row need not name its session any more
    await tx.sessionToken.deleteMany({ where: { sessionId, kind: 'access', expiresAt: { lte: new Date() } } });
    await tx.sessionToken.create({ data: { tokenHash: hashes.access, sessionId, kind: 'access', expiresAt: expiry(tokens) } });
    if (hashes.refresh) {
      // an IdP that does not rotate hands the same refresh token back: it stays active
      await tx.sessionToken.upsert({
        where: { tokenHash: hashes.refresh },
        create: { tokenHash: hashes.refresh, sessionId, kind: 'refresh' },
        update: { status: 'active' },
      });
    }
  },

  /**
   * Revokes a session: marks it, records it in the durable revoked-session list (which every
   * verifier reads; by Fedgate session id and by the IdP's sid) and answers the hashes of its
   * tokens that are still live (unexpired access tokens, the active refresh token), for the
   * session-revoked event. At most `maxTokens` + 1 of them: a session never holds more
   * (RefreshSession refuses beyond), so the event stays small.
   */
  async revoke(tx: DatabaseTransaction, session: { id: string; flwrAid: string; idpSid: string | null }, reason: string, policy: SessionPolicy): Promise<string[]> {
    await tx.loginSession.updateMany({ where: { id: session.id, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
    await tx.sessionToken.updateMany({ where: { sessionId: session.id, kind: 'refresh', status: 'active' }, data: { status: 'revoked' } });
    await SessionRevocationStore.record(tx, { sessionId: session.id, idpSid: session.idpSid, flwrAid: session.flwrAid, reason, retainSeconds: policy.revocationRetainSeconds });
    const live = await tx.sessionToken.findMany({
      where: { sessionId: session.id, OR: [{ kind: 'access', OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] }, { kind: 'refresh', status: 'revoked' }] },
      select: { tokenHash: true },
      orderBy: { createdAt: 'desc' },
      take: policy.maxTokens + 1,
    });
    return live.map((t) => t.tokenHash);
  },

  /** Whether the session may take one more access token (it holds fewer than maxTokens unexpired ones). */
  async hasRoomForToken(db: Pick<DatabaseTransaction, 'sessionToken'>, sessionId: string, policy: SessionPolicy): Promise<boolean> {
    const live = await db.sessionToken.count({ where: { sessionId, kind: 'access', OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] } });
    return live < policy.maxTokens;
  },
};

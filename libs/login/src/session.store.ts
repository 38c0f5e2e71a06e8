import { randomUUID } from 'node:crypto';
import { Account, sha256Hex } from '@fedgate/contracts';
import type { DatabaseTransaction } from '@fedgate/database';
import type { IdpTokens } from './identity-provider.client';

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
    await tx.loginSession.create({ data: { id: sessionId, flwrAid: account.flwr_aid, accountName: account.account_name, clientId } });
    await SessionStore.addTokens(tx, sessionId, tokens, hashes);
    return { sessionId, hashes };
  },

  async addTokens(tx: DatabaseTransaction, sessionId: string, tokens: IdpTokens, hashes: IssuedTokenHashes): Promise<void> {
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

  /** Revokes a session and answers every token hash of it (for the session-revoked event). */
  async revoke(tx: DatabaseTransaction, sessionId: string, reason: string): Promise<string[]> {
    await tx.loginSession.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
    await tx.sessionToken.updateMany({ where: { sessionId, kind: 'refresh' }, data: { status: 'revoked' } });
    const tokens = await tx.sessionToken.findMany({ where: { sessionId }, select: { tokenHash: true } });
    return tokens.map((t) => t.tokenHash);
  },
};

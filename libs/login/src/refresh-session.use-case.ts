import { DependencyUnavailableError, OAuthError, TokenSetResponse, accountFromClaims, createCloudEvent, sha256Hex } from '@fedgate/contracts';
import type { OutboxStore, PrismaClient } from '@fedgate/database';
import { IdentityProviderClient, IdpConfigurationError, IdpGrantError } from './identity-provider.client';
import { LOGIN_EVENT_SOURCE, RequestOrigin } from './login-settings';
import { SessionStore } from './session.store';

/**
 * Exchanges a refresh token for new tokens at the IdP. A refresh token that was already
 * rotated out and is presented again means two parties hold the session's tokens: the
 * whole session is revoked (refresh-token reuse detection), whatever the IdP would say.
 */
export class RefreshSession {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly outbox: OutboxStore,
    private readonly idp: IdentityProviderClient,
  ) {}

  async execute(refreshToken: string, origin: RequestOrigin): Promise<TokenSetResponse> {
    const presentedHash = sha256Hex(refreshToken);
    const known = await this.prisma.sessionToken.findUnique({ where: { tokenHash: presentedHash }, include: { session: true } });
    if (!known || known.kind !== 'refresh') throw new OAuthError('invalid_grant', 'Unknown refresh token.');
    if (known.session.revokedAt) throw new OAuthError('invalid_grant', 'The session has been revoked; log in again.');

    // take the token out of circulation first: of two concurrent uses, exactly one proceeds
    const taken = await this.prisma.sessionToken.updateMany({ where: { tokenHash: presentedHash, status: 'active' }, data: { status: 'rotated' } });
    if (taken.count === 0) {
      await this.revokeForReuse(known.sessionId, known.session.flwrAid, presentedHash, origin);
      throw new OAuthError('invalid_grant', 'This refresh token was already used; the session has been revoked. Log in again.');
    }

    let tokens;
    try {
      tokens = await this.idp.refresh(refreshToken);
    } catch (err) {
      if (err instanceof DependencyUnavailableError) {
        // the IdP never saw it: the token stays usable for a retry
        await this.prisma.sessionToken.update({ where: { tokenHash: presentedHash }, data: { status: 'active' } });
        throw err;
      }
      if (err instanceof IdpGrantError) throw new OAuthError('invalid_grant', `The identity provider refused the refresh token (${err.explanation}).`);
      if (err instanceof IdpConfigurationError) throw new OAuthError('invalid_grant', err.message);
      throw err;
    }

    const account = accountFromClaims(tokens.claims);
    const nextRefresh = tokens.refresh_token ?? refreshToken;
    return this.prisma.$transaction(async (tx) => {
      const hashes = { access: sha256Hex(tokens.access_token), refresh: sha256Hex(nextRefresh) };
      await SessionStore.addTokens(tx, known.sessionId, tokens, hashes);
      const expires_in = tokens.expires_in ?? 300;
      await this.outbox.append(tx, [
        createCloudEvent({
          type: 'fedgate.token.refreshed.v1',
          source: LOGIN_EVENT_SOURCE,
          data: {
            account,
            session_id: known.sessionId,
            previous_refresh_token_hash: presentedHash,
            access_token_hash: hashes.access,
            refresh_token_hash: hashes.refresh,
            expires_in,
            origin,
          },
        }),
      ]);
      return { access_token: tokens.access_token, refresh_token: nextRefresh, token_type: 'Bearer' as const, expires_in, account };
    });
  }

  private async revokeForReuse(sessionId: string, flwrAid: string, presentedHash: string, origin: RequestOrigin): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const token_hashes = await SessionStore.revoke(tx, sessionId, 'refresh_reuse');
      await this.outbox.append(tx, [
        createCloudEvent({ type: 'fedgate.token.refresh_reuse_detected.v1', source: LOGIN_EVENT_SOURCE, data: { flwr_aid: flwrAid, session_id: sessionId, refresh_token_hash: presentedHash, origin } }),
        createCloudEvent({ type: 'fedgate.session.revoked.v1', source: LOGIN_EVENT_SOURCE, data: { flwr_aid: flwrAid, session_id: sessionId, reason: 'refresh_reuse', token_hashes, origin } }),
      ]);
    });
  }
}

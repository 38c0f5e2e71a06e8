import { Logger } from '@nestjs/common';
import { DependencyUnavailableError, OAuthError, TokenSetResponse, accountFromClaims, createCloudEvent, sha256Hex, type RequestOrigin } from '@fedgate/contracts';
import { IdpConfigurationError, IdpGrantError } from './identity-provider.client';
import { LOGIN_EVENT_SOURCE, type LoginDeps } from './login-settings';
import { SessionStore } from './session.store';

/**
 * Exchanges a refresh token for new tokens at the IdP. A refresh token that was already
 * rotated out and is presented again means two parties hold the session's tokens: the
 * whole session is revoked (refresh-token reuse detection), whatever the IdP would say, and
 * revoked at the IdP too (RFC 7009, as logout does), so the tokens the other party may mint
 * there stop working. A session holds at most `policy.maxTokens` live access tokens.
 */
export class RefreshSession {
  private readonly logger = new Logger(RefreshSession.name);

  constructor(private readonly deps: LoginDeps) {}

  async execute(refreshToken: string, origin: RequestOrigin): Promise<TokenSetResponse> {
    const presentedHash = sha256Hex(refreshToken);
    const known = await this.deps.prisma.sessionToken.findUnique({ where: { tokenHash: presentedHash }, include: { session: true } });
    if (!known || known.kind !== 'refresh') throw new OAuthError('invalid_grant', 'Unknown refresh token.');
    if (known.session.revokedAt) throw new OAuthError('invalid_grant', 'The session has been revoked; log in again.');

    // bounded: a session holds at most maxTokens unexpired access tokens (checked before an
    // active token is taken, so a refusal leaves it usable once one of them expires; a rotated
    // one goes on to reuse detection)
    if (known.status === 'active' && !(await SessionStore.hasRoomForToken(this.deps.prisma, known.sessionId, this.deps.sessions))) {
      throw new OAuthError('invalid_grant', `The session already holds ${this.deps.sessions.maxTokens} unexpired access tokens; use one until it expires, or log in again.`);
    }
    // take the token out of circulation first: of two concurrent uses, exactly one proceeds
    const taken = await this.deps.prisma.sessionToken.updateMany({ where: { tokenHash: presentedHash, status: 'active' }, data: { status: 'rotated' } });
    if (taken.count === 0) {
      await this.revokeForReuse(known.session, presentedHash, origin);
      // at the IdP too: revoking the presented token ends its grant there (the IdP's own reuse rule)
      await this.deps.idp.revoke(refreshToken, 'refresh_token').catch((err: Error) => this.logger.warn({ reason: err.message }, 'revocation at the identity provider failed'));
      throw new OAuthError('invalid_grant', 'This refresh token was already used; the session has been revoked. Log in again.');
    }


    let tokens;
    try {
      tokens = await this.deps.idp.refresh(refreshToken);
    } catch (err) {
      if (err instanceof DependencyUnavailableError) {
        // the IdP never saw it: the token stays usable for a retry
        await this.deps.prisma.sessionToken.update({ where: { tokenHash: presentedHash }, data: { status: 'active' } });
        throw err;
      }
      if (err instanceof IdpGrantError) throw new OAuthError('invalid_grant', `The identity provider refused the refresh token (${err.explanation}).`);
      if (err instanceof IdpConfigurationError) throw new OAuthError('invalid_grant', err.message);
      throw err;
    }

    const account = accountFromClaims(tokens.claims);
    const nextRefresh = tokens.refresh_token ?? refreshToken;
    return this.deps.prisma.$transaction(async (tx) => {
      const hashes = { access: sha256Hex(tokens.access_token), refresh: sha256Hex(nextRefresh) };
      await SessionStore.addTokens(tx, known.sessionId, tokens, hashes);
      const expires_in = tokens.expires_in ?? 300;
      await this.deps.outbox.append(tx, [
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

  private async revokeForReuse(session: { id: string; flwrAid: string; idpSid: string | null }, presentedHash: string, origin: RequestOrigin): Promise<void> {
    await this.deps.prisma.$transaction(async (tx) => {
      const token_hashes = await SessionStore.revoke(tx, session, 'refresh_reuse', this.deps.sessions);
      const ids = { flwr_aid: session.flwrAid, session_id: session.id };
      await this.deps.outbox.append(tx, [
        createCloudEvent({ type: 'fedgate.token.refresh_reuse_detected.v1', source: LOGIN_EVENT_SOURCE, data: { ...ids, refresh_token_hash: presentedHash, origin } }),
        createCloudEvent({ type: 'fedgate.session.revoked.v1', source: LOGIN_EVENT_SOURCE, data: { ...ids, idp_sid: session.idpSid ?? undefined, reason: 'refresh_reuse', token_hashes, origin } }),
      ]);
    });
  }
}

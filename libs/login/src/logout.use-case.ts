import { createCloudEvent, sha256Hex, type RequestOrigin } from '@fedgate/contracts';
import { Logger } from '@nestjs/common';
import { LOGIN_EVENT_SOURCE, type LoginDeps } from './login-settings';
import { SessionStore } from './session.store';

/**
 * Ends the session a refresh and/or access token belongs to: revoked at the IdP where it
 * supports RFC 7009, and in every case in Fedgate, with a session-revoked event that makes
 * every token-service instance refuse the session's tokens.
 */
export class Logout {
  private readonly logger = new Logger(Logout.name);

  constructor(private readonly deps: LoginDeps) {}

  async execute(tokens: { refresh_token?: string; access_token?: string }, origin: RequestOrigin): Promise<void> {
    const hashes = [tokens.refresh_token, tokens.access_token].filter((t): t is string => !!t).map(sha256Hex);
    const known = await this.deps.prisma.sessionToken.findFirst({ where: { tokenHash: { in: hashes } }, include: { session: true } });

    if (known && !known.session.revokedAt) {
      await this.deps.prisma.$transaction(async (tx) => {
        const token_hashes = await SessionStore.revoke(tx, known.session, 'logout', this.deps.sessions);
        await this.deps.outbox.append(tx, [
          createCloudEvent({
            type: 'fedgate.session.revoked.v1',
            source: LOGIN_EVENT_SOURCE,
            data: {
              flwr_aid: known.session.flwrAid,
              session_id: known.sessionId,
              idp_sid: known.session.idpSid ?? undefined,
              reason: 'logout',
              token_hashes: [...new Set([...token_hashes, ...hashes])],
              origin,
            },
          }),
        ]);
      });
    }

    // RFC 7009: revoking an unknown or already revoked token is not an error; an IdP that
    // cannot revoke still leaves the session revoked in Fedgate
    for (const [token, hint] of [[tokens.refresh_token, 'refresh_token'], [tokens.access_token, 'access_token']] as const) {
      if (!token) continue;
      await this.deps.idp.revoke(token, hint).catch((err: Error) => this.logger.warn({ reason: err.message, hint }, 'revocation at the identity provider failed'));
    }
  }
}

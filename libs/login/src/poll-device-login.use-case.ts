import { DependencyUnavailableError, OAuthError, TokenSetResponse, accountFromClaims, createCloudEvent, sha256Hex, type RequestOrigin } from '@fedgate/contracts';
import { IdpConfigurationError, IdpGrantError, IdpTokens } from './identity-provider.client';
import { LOGIN_EVENT_SOURCE, type LoginDeps } from './login-settings';
import { SessionStore } from './session.store';

type FinalStatus = 'denied' | 'expired';

// Each answer in one place: several paths reach the same outcome.
const answers = {
  redeemed: () => new OAuthError('invalid_grant', 'This device_code has already been redeemed.'),
  denied: () => new OAuthError('access_denied', 'The user denied the login.'),
  expired: () => new OAuthError('expired_token', 'The device_code has expired; start a new login.'),
  slowDown: (interval: number) => new OAuthError('slow_down', `Polling too fast: wait at least ${interval} seconds between polls.`),
};

// A caller polling within this margin of the interval is not punished for network jitter.
const POLL_GRACE_MS = 500;
// RFC 8628 adds 5 s per slow_down; bounded so a misbehaving client cannot grow it forever.
const MAX_INTERVAL_SECONDS = 60;

/**
 * `flwr login` step 2, one poll: answers authorization_pending / slow_down / expired_token /
 * access_denied / invalid_grant as RFC 8628 says, or the tokens and the account. Polls
 * faster than the interval are answered slow_down here, without asking the IdP. A device
 * code is redeemed once. Pending polls are counted and reported on the final event.
 */
export class PollDeviceLogin {
  constructor(private readonly deps: LoginDeps) {}

  async execute(deviceCode: string, origin: RequestOrigin): Promise<TokenSetResponse> {
    const deviceCodeHash = sha256Hex(deviceCode);
    const login = await this.deps.prisma.deviceLogin.findUnique({ where: { deviceCodeHash } });
    if (!login) throw new OAuthError('invalid_grant', 'Unknown device_code.');
    if (login.status === 'succeeded') throw answers.redeemed();
    if (login.status === 'denied') throw answers.denied();
    if (login.status === 'expired' || login.expiresAt.getTime() <= Date.now()) {
      await this.finish(deviceCodeHash, 'expired', origin);
      throw answers.expired();
    }

    if (!(await this.claimPollSlot(deviceCodeHash))) {
      throw answers.slowDown(await this.slowDown(deviceCodeHash));
    }

    let tokens: IdpTokens;
    try {
      tokens = await this.deps.idp.pollDeviceCode(deviceCode);
    } catch (err) {
      throw await this.outcomeOf(err, deviceCodeHash, origin);
    }
    return this.redeem(deviceCodeHash, tokens, origin);
  }

  /** Atomically takes the right to poll the IdP now; false when the caller is too fast. */
  private async claimPollSlot(deviceCodeHash: string): Promise<boolean> {
    const claimed = await this.deps.prisma.$executeRaw`
      UPDATE device_login SET last_poll_at = now()
      WHERE device_code_hash = ${deviceCodeHash} AND status = 'pending'
        AND (last_poll_at IS NULL OR last_poll_at <= now() - make_interval(secs => interval - ${POLL_GRACE_MS / 1000}::float8))`;
    return claimed === 1;
  }

  private async slowDown(deviceCodeHash: string): Promise<number> {
    const [row] = await this.deps.prisma.$queryRaw<{ interval: number }[]>`
      UPDATE device_login SET interval = LEAST(interval + 5, ${MAX_INTERVAL_SECONDS})
      WHERE device_code_hash = ${deviceCodeHash} RETURNING interval`;
    return row?.interval ?? MAX_INTERVAL_SECONDS;
  }

  private async outcomeOf(err: unknown, deviceCodeHash: string, origin: RequestOrigin): Promise<Error> {
    if (err instanceof IdpConfigurationError) {
      const refused = new OAuthError('invalid_grant', err.message);
      await this.finish(deviceCodeHash, 'denied', origin, 'invalid_grant', refused.description);
      return refused;
    }
    if (!(err instanceof IdpGrantError)) return err instanceof DependencyUnavailableError ? err : (err as Error);
    switch (err.error) {
      case 'authorization_pending':
        await this.deps.prisma.deviceLogin.update({ where: { deviceCodeHash }, data: { pendingPolls: { increment: 1 } } });
        return new OAuthError('authorization_pending', 'The user has not completed the sign-in yet.');
      case 'slow_down':
        return answers.slowDown(await this.slowDown(deviceCodeHash));
      case 'expired_token':
        await this.finish(deviceCodeHash, 'expired', origin);
        return answers.expired();
      case 'access_denied': {
        const denied = answers.denied();
        await this.finish(deviceCodeHash, 'denied', origin, 'access_denied', denied.description);
        return denied;
      }
      default: {
        // the IdP's own reason goes to the person: it is often the fix (Keycloak: "Offline tokens not allowed for the user or client")
        const refused = new OAuthError('invalid_grant', `The identity provider refused the login (${err.explanation}).${hintFor(err)}`);
        await this.finish(deviceCodeHash, 'denied', origin, 'invalid_grant', refused.description);
        return refused;
      }
    }
  }

  /** Ends a pending login once: the final event carries how many polls were pending. */
  private async finish(deviceCodeHash: string, status: FinalStatus, origin: RequestOrigin, error?: 'access_denied' | 'invalid_grant', description?: string): Promise<void> {
    await this.deps.prisma.$transaction(async (tx) => {
      const ended = await tx.deviceLogin.updateManyAndReturn({ where: { deviceCodeHash, status: 'pending' }, data: { status } });
      if (ended.length === 0) return;
      const pending_polls = ended[0].pendingPolls;
      const event =
        status === 'expired'
          ? createCloudEvent({ type: 'fedgate.login.expired.v1', source: LOGIN_EVENT_SOURCE, data: { device_code_hash: deviceCodeHash, pending_polls, origin } })
          : createCloudEvent({
              type: 'fedgate.login.denied.v1',
              source: LOGIN_EVENT_SOURCE,
              data: { device_code_hash: deviceCodeHash, error: error ?? 'access_denied', error_description: description ?? '', pending_polls, origin },
            });
      await this.deps.outbox.append(tx, [event]);
    });
  }

  private async redeem(deviceCodeHash: string, tokens: IdpTokens, origin: RequestOrigin): Promise<TokenSetResponse> {
    const account = accountFromClaims(tokens.claims);
    if (!tokens.refresh_token) {
      throw new OAuthError('invalid_scope', 'The identity provider issued no refresh token: the login needs the offline_access scope.');
    }
    const refreshToken = tokens.refresh_token;
    return this.deps.prisma.$transaction(async (tx) => {
      const redeemed = await tx.deviceLogin.updateManyAndReturn({ where: { deviceCodeHash, status: 'pending' }, data: { status: 'succeeded' } });
      if (redeemed.length === 0) throw answers.redeemed();
      const { sessionId, hashes } = await SessionStore.open(tx, account, origin.client_id, tokens);
      await tx.deviceLogin.update({ where: { deviceCodeHash }, data: { sessionId } });
      const expires_in = tokens.expires_in ?? 300;
      await this.deps.outbox.append(tx, [
        createCloudEvent({
          type: 'fedgate.login.succeeded.v1',
          source: LOGIN_EVENT_SOURCE,
          data: {
            device_code_hash: deviceCodeHash,
            account,
            session_id: sessionId,
            access_token_hash: hashes.access,
            refresh_token_hash: hashes.refresh ?? sha256Hex(refreshToken),
            expires_in,
            pending_polls: redeemed[0].pendingPolls,
            origin,
          },
        }),
        createCloudEvent({ type: 'fedgate.account.seen.v1', source: LOGIN_EVENT_SOURCE, data: { account, login_names: loginNamesOf(tokens.claims) } }),
      ]);
      return { access_token: tokens.access_token, refresh_token: refreshToken, token_type: 'Bearer' as const, expires_in, account };
    });
  }
}

/** What to do about a refusal whose cause Fedgate knows. */
function hintFor(err: IdpGrantError): string {
  if (/offline/i.test(`${err.error} ${err.description ?? ''}`)) {
    return ' The login asks for the offline_access scope (a refresh token that outlives the browser session): give the user the IdP\'s offline_access role, or set FEDGATE_OIDC_SCOPE without offline_access.';
  }
  return '';
}

/** preferred_username, and the email only when the IdP says it is verified (anyone may type an address). */
export function loginNamesOf(claims: Record<string, unknown>): string[] {
  const names: string[] = [];
  if (typeof claims.preferred_username === 'string' && claims.preferred_username.length <= 320) names.push(claims.preferred_username);
  if (typeof claims.email === 'string' && claims.email_verified === true && claims.email.length <= 320) names.push(claims.email);
  return names.filter((name) => name.length > 0);
}

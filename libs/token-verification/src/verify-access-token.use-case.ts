import { createCloudEvent, sha256Hex, type FedgateEvent, type RequestOrigin } from '@fedgate/contracts';
import type { CachedVerification } from './caching-token-verifier';
import type { TokenVerificationDeps } from './token-verification-deps';
import { TokenRejectedError } from './verified-token';

export const TOKEN_EVENT_SOURCE = '/fedgate/token-service';

/**
 * `POST /v1/verify` and its twins: verify a bearer token and record the outcome. The audit
 * event is durably in the outbox before the answer leaves (group-committed), so an answered
 * verification is never missing from the audit log. Successes can be left out by setting.
 */
export class VerifyAccessToken {
  constructor(private readonly deps: TokenVerificationDeps) {}

  /**
   * `recordSuccess: false` when the caller records the verification itself, in one event with
   * what it decided (`POST /v1/authorize`); a refusal is always recorded here.
   */
  async execute(token: string, origin: RequestOrigin, options: { recordSuccess?: boolean } = {}): Promise<CachedVerification> {
    let verified: CachedVerification;
    try {
      verified = await this.deps.verifier.verify(token);
    } catch (err) {
      if (err instanceof TokenRejectedError) await this.deps.audit.append(rejectionEvent(err, token, origin));
      throw err;
    }
    if (options.recordSuccess ?? this.deps.auditSuccess) {
      await this.deps.audit.append(
        createCloudEvent({
          type: 'fedgate.token.verified.v1',
          source: TOKEN_EVENT_SOURCE,
          data: {
            account: verified.account,
            access_token_hash: verified.token_hash,
            scope: verified.scope,
            expires_at: verified.expires_at,
            method: verified.method,
            cached: verified.cached,
            origin,
          },
        }),
      );
    }
    return verified;
  }
}

/** The one event of a refused token (also what `POST /v1/authorize` records for one). */
export function rejectionEvent(err: TokenRejectedError, token: string, origin: RequestOrigin): FedgateEvent {
  return createCloudEvent({
    type: 'fedgate.token.rejected.v1',
    source: TOKEN_EVENT_SOURCE,
    data: {
      access_token_hash: sha256Hex(token),
      error: err.code,
      error_description: err.description.slice(0, 500),
      // what the token claims, unverified (anyone can forge a name): never the event's actor
      claimed_subject: err.sub?.slice(0, 256),
      kid: err.kid?.slice(0, 256),
      iss: err.iss?.slice(0, 1024),
      origin,
    },
  });
}

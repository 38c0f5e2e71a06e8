import { Logger, type Provider } from '@nestjs/common';
import { OutboxGroupWriter, OutboxStore, SessionRevocationStore, createResilientPool } from '@fedgate/database';
import type { TokenVerificationConfig } from '@fedgate/service-config';
import { CachingTokenVerifier } from './caching-token-verifier';
import { MAX_TOKEN_LIFETIME_SECONDS, SessionRevocationListener } from './session-revocation.listener';
import { SessionRevocations } from './session-revocations';
import { TokenVerifier } from './token-verifier';
import { VerifiedTokenCache } from './verified-token-cache';
import { TOKEN_VERIFICATION_DEPS, type TokenVerificationDeps } from './token-verification-deps';

/**
 * The durable revoked-session list of a service, read through a small pool of its own (the hot
 * outbox pool never delays it). Its `readinessCheck()` belongs in the service's /readyz: down
 * until the list is read complete and whenever it is stale.
 */
export function createSessionRevocations(config: Pick<TokenVerificationConfig, 'FEDGATE_REVOCATION_REFRESH_MS'> & { FEDGATE_DATABASE_URL: string }): SessionRevocations {
  const logger = new Logger(SessionRevocations.name);
  return new SessionRevocations(new SessionRevocationStore(createResilientPool({ connectionString: config.FEDGATE_DATABASE_URL, max: 2 })), {
    refreshMs: config.FEDGATE_REVOCATION_REFRESH_MS,
    onReadFailure: (err) => logger.warn({ reason: (err as Error).message }, 'cannot read the revoked sessions; verifications answer 503 once the list is stale'),
  });
}

/**
 * The token verification of a Nest service, wired one way wherever a person's token is
 * checked (token-service's /v1/verify, authz-service's /v1/authorize and membership calls):
 * the same verifier and cache, the same durable session revocations, the same deps of the audited
 * use case, the same session-revocation consumer. The app names the use case itself:
 * `provideUseCases<TokenVerificationDeps>(TOKEN_VERIFICATION_DEPS, [VerifyAccessToken])`.
 * Needs DatabaseModule (the outbox) and KafkaModule (KAFKA_SETTINGS) in the service.
 */
export function tokenVerificationProviders(config: TokenVerificationConfig, options: { auditSuccess: boolean; revocations: SessionRevocations }): Provider[] {
  const verifier = new CachingTokenVerifier({
    verifier: new TokenVerifier({
      issuer: config.FEDGATE_OIDC_ISSUER,
      audience: config.FEDGATE_OIDC_AUDIENCE,
      clockToleranceSeconds: config.FEDGATE_TOKEN_CLOCK_SKEW_SECONDS,
      jwksCooldownMs: config.FEDGATE_JWKS_COOLDOWN_MS,
      requestTimeoutMs: config.FEDGATE_OIDC_TIMEOUT_MS,
      // a confidential client only: see FEDGATE_OIDC_CLIENT_SECRET
      introspection:
        config.FEDGATE_OIDC_CLIENT_ID && config.FEDGATE_OIDC_CLIENT_SECRET ? { clientId: config.FEDGATE_OIDC_CLIENT_ID, clientSecret: config.FEDGATE_OIDC_CLIENT_SECRET } : undefined,
    }),
    cache: new VerifiedTokenCache({ maxEntries: config.FEDGATE_TOKEN_CACHE_ENTRIES }),
    revocations: options.revocations,
  });
  return [
    { provide: SessionRevocations, useValue: options.revocations },
    { provide: CachingTokenVerifier, useValue: verifier },
    { provide: MAX_TOKEN_LIFETIME_SECONDS, useValue: config.FEDGATE_TOKEN_MAX_LIFETIME_SECONDS },
    {
      provide: TOKEN_VERIFICATION_DEPS,
      useFactory: (outbox: OutboxStore): TokenVerificationDeps => ({ verifier, audit: new OutboxGroupWriter(outbox), auditSuccess: options.auditSuccess }),
      inject: [OutboxStore],
    },
    SessionRevocationListener,
  ];
}

import type { Provider } from '@nestjs/common';
import { OutboxGroupWriter, OutboxStore } from '@fedgate/database';
import type { TokenVerificationConfig } from '@fedgate/service-config';
import { CachingTokenVerifier } from './caching-token-verifier';
import { MAX_TOKEN_LIFETIME_SECONDS, SessionRevocationListener } from './session-revocation.listener';
import { TokenVerifier } from './token-verifier';
import { VerifiedTokenCache } from './verified-token-cache';
import { VerifyAccessToken } from './verify-access-token.use-case';

/**
 * The token verification of a Nest service, wired one way wherever a person's token is
 * checked (token-service's /v1/verify, authz-service's /v1/authorize and membership calls):
 * the same verifier and cache, the same audited use case, the same session-revocation consumer.
 * Needs DatabaseModule (the outbox) and KafkaModule (KAFKA_SETTINGS) in the service.
 */
export function tokenVerificationProviders(config: TokenVerificationConfig, options: { auditSuccess: boolean }): Provider[] {
  const verifier = new CachingTokenVerifier({
    verifier: new TokenVerifier({
      issuer: config.FEDGATE_OIDC_ISSUER,
      audience: config.FEDGATE_OIDC_AUDIENCE,
      clockToleranceSeconds: config.FEDGATE_TOKEN_CLOCK_SKEW_SECONDS,
      jwksCooldownMs: config.FEDGATE_JWKS_COOLDOWN_MS,
      requestTimeoutMs: config.FEDGATE_OIDC_TIMEOUT_MS,
      introspection: config.FEDGATE_OIDC_CLIENT_ID ? { clientId: config.FEDGATE_OIDC_CLIENT_ID, clientSecret: config.FEDGATE_OIDC_CLIENT_SECRET } : undefined,
    }),
    cache: new VerifiedTokenCache({ maxEntries: config.FEDGATE_TOKEN_CACHE_ENTRIES }),
  });
  return [
    { provide: CachingTokenVerifier, useValue: verifier },
    { provide: MAX_TOKEN_LIFETIME_SECONDS, useValue: config.FEDGATE_TOKEN_MAX_LIFETIME_SECONDS },
    {
      provide: VerifyAccessToken,
      useFactory: (outbox: OutboxStore) => new VerifyAccessToken(verifier, new OutboxGroupWriter(outbox), options),
      inject: [OutboxStore],
    },
    SessionRevocationListener,
  ];
}

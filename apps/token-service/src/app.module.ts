import { DynamicModule, Logger, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import { DatabaseModule, DatabaseReadinessCheck, OutboxGroupWriter, OutboxStore, SessionRevocationStore, createResilientPool } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, parseBrokers } from '@fedgate/kafka';
import { PlatformModule, oidcDiscoveryReadinessCheck, provideFastJsonRoutes } from '@fedgate/platform';
import { fastVerifyRoutes } from './fast-verify.route';
import type { TokenServiceConfig } from '@fedgate/service-config';
import { CachingTokenVerifier, SessionRevocations, TokenVerifier, VerifiedTokenCache, VerifyAccessToken } from '@fedgate/token-verification';
import { MAX_TOKEN_LIFETIME_SECONDS, SessionRevocationListener } from './session-revocation.listener';
import { TokenController } from './token.controller';

/** Verifies the access tokens of every flwr CLI call: fast, revocation-aware, audited. */
@Module({})
export class TokenServiceModule {
  static register(config: TokenServiceConfig): DynamicModule {
    // the durable revoked-session list, read through a small pool of its own (the hot outbox
    // pool never delays it); /readyz is down until it is read complete and whenever it is stale
    const logger = new Logger(SessionRevocations.name);
    const revocations = new SessionRevocations(new SessionRevocationStore(createResilientPool({ connectionString: config.FEDGATE_DATABASE_URL, max: 2 })), {
      refreshMs: config.FEDGATE_REVOCATION_REFRESH_MS,
      onReadFailure: (err) => logger.warn({ reason: (err as Error).message }, 'cannot read the revoked sessions; verifications answer 503 once the list is stale'),
    });
    return {
      module: TokenServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ clientId: 'token-service', brokers: parseBrokers(config.FEDGATE_KAFKA_BROKERS), outboxRelay: true }),
        PlatformModule.forRoot({
          serviceName: 'token-service',
          apiKeys: config.FEDGATE_API_KEYS,
          openApi: openApiDocument('token'),
          readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck], checks: [oidcDiscoveryReadinessCheck(config.FEDGATE_OIDC_ISSUER), revocations.readinessCheck()] },
        }),
      ],
      controllers: [TokenController],
      providers: [
        { provide: SessionRevocations, useValue: revocations },
        {
          provide: CachingTokenVerifier,
          useFactory: (revocations: SessionRevocations) =>
            new CachingTokenVerifier({
              verifier: new TokenVerifier({
                issuer: config.FEDGATE_OIDC_ISSUER,
                audience: config.FEDGATE_OIDC_AUDIENCE,
                clockToleranceSeconds: config.FEDGATE_TOKEN_CLOCK_SKEW_SECONDS,
                jwksCooldownMs: config.FEDGATE_JWKS_COOLDOWN_MS,
                requestTimeoutMs: config.FEDGATE_OIDC_TIMEOUT_MS,
                introspection: config.FEDGATE_OIDC_CLIENT_ID ? { clientId: config.FEDGATE_OIDC_CLIENT_ID, clientSecret: config.FEDGATE_OIDC_CLIENT_SECRET } : undefined,
              }),
              cache: new VerifiedTokenCache({ maxEntries: config.FEDGATE_TOKEN_CACHE_ENTRIES }),
              revocations,
            }),
          inject: [SessionRevocations],
        },
        { provide: MAX_TOKEN_LIFETIME_SECONDS, useValue: config.FEDGATE_TOKEN_MAX_LIFETIME_SECONDS },
        {
          provide: VerifyAccessToken,
          useFactory: (verifier: CachingTokenVerifier, outbox: OutboxStore) => new VerifyAccessToken(verifier, new OutboxGroupWriter(outbox), { auditSuccess: config.FEDGATE_TOKEN_AUDIT_SUCCESS }),
          inject: [CachingTokenVerifier, OutboxStore],
        },
        provideFastJsonRoutes(fastVerifyRoutes, [VerifyAccessToken]),
        SessionRevocationListener,
      ],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import { DatabaseModule, DatabaseReadinessCheck, OutboxGroupWriter, OutboxStore } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, parseBrokers } from '@fedgate/kafka';
import { PlatformModule, oidcDiscoveryReadinessCheck, provideFastJsonRoutes } from '@fedgate/platform';
import { fastVerifyRoutes } from './fast-verify.route';
import type { TokenServiceConfig } from '@fedgate/service-config';
import { CachingTokenVerifier, TokenVerifier, VerifiedTokenCache, VerifyAccessToken } from '@fedgate/token-verification';
import { MAX_TOKEN_LIFETIME_SECONDS, SessionRevocationListener } from './session-revocation.listener';
import { TokenController } from './token.controller';

/** Verifies the access tokens of every flwr CLI call: fast, revocation-aware, audited. */
@Module({})
export class TokenServiceModule {
  static register(config: TokenServiceConfig): DynamicModule {
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
          readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck], checks: [oidcDiscoveryReadinessCheck(config.FEDGATE_OIDC_ISSUER)] },
        }),
      ],
      controllers: [TokenController],
      providers: [
        { provide: CachingTokenVerifier, useValue: verifier },
        { provide: MAX_TOKEN_LIFETIME_SECONDS, useValue: config.FEDGATE_TOKEN_MAX_LIFETIME_SECONDS },
        {
          provide: VerifyAccessToken,
          useFactory: (outbox: OutboxStore) => new VerifyAccessToken(verifier, new OutboxGroupWriter(outbox), { auditSuccess: config.FEDGATE_TOKEN_AUDIT_SUCCESS }),
          inject: [OutboxStore],
        },
        provideFastJsonRoutes(fastVerifyRoutes, [VerifyAccessToken]),
        SessionRevocationListener,
      ],
    };
  }
}

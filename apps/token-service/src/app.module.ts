import { DynamicModule, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import { DatabaseModule, DatabaseReadinessCheck, OutboxStore } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, kafkaSettingsFromConfig } from '@fedgate/kafka';
import { PlatformModule, oidcDiscoveryReadinessCheck, provideKeyRefusals, provideUseCases } from '@fedgate/platform';
import type { TokenServiceConfig } from '@fedgate/service-config';
import { TOKEN_EVENT_SOURCE, TOKEN_VERIFICATION_DEPS, VerifyAccessToken, createSessionRevocations, tokenVerificationProviders, type TokenVerificationDeps } from '@fedgate/token-verification';
import { TokenController } from './token.controller';

/** The service's own routes (PlatformModule adds /healthz, /readyz, /metrics, /openapi.json, /docs). */
export const TOKEN_CONTROLLERS = [TokenController];

/** Verifies the access tokens of every flwr CLI call: fast, revocation-aware, audited. */
@Module({})
export class TokenServiceModule {
  static register(config: TokenServiceConfig): DynamicModule {
    const revocations = createSessionRevocations(config);
    return {
      module: TokenServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ settings: kafkaSettingsFromConfig('token-service', config), service: 'token-service', outboxRelay: true }),
        PlatformModule.forRoot({
          serviceName: 'token-service',
          apiKeys: config.FEDGATE_API_KEYS,
          openApi: openApiDocument('token'),
          readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck], checks: [oidcDiscoveryReadinessCheck(config.FEDGATE_OIDC_ISSUER), revocations.readinessCheck()] },
        }),
      ],
      controllers: TOKEN_CONTROLLERS,
      providers: [
        ...tokenVerificationProviders(config, { auditSuccess: config.FEDGATE_TOKEN_AUDIT_SUCCESS, revocations }),
        ...provideUseCases<TokenVerificationDeps>(TOKEN_VERIFICATION_DEPS, [VerifyAccessToken]),
        // a key without the superlink role is refused, and the refusal audited through the outbox
        provideKeyRefusals(TOKEN_EVENT_SOURCE, OutboxStore),
      ],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import { DatabaseModule, DatabaseReadinessCheck } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, parseBrokers } from '@fedgate/kafka';
import { PlatformModule, oidcDiscoveryReadinessCheck } from '@fedgate/platform';
import type { TokenServiceConfig } from '@fedgate/service-config';

/** Verifies bearer tokens (endpoints come with the token issue). */
@Module({})
export class TokenServiceModule {
  static register(config: TokenServiceConfig): DynamicModule {
    return {
      module: TokenServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ clientId: 'token-service', brokers: parseBrokers(config.FEDGATE_KAFKA_BROKERS), outboxRelay: true }),
        PlatformModule.forRoot({
          serviceName: 'token-service',
          openApi: openApiDocument('token'),
          readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck], checks: [oidcDiscoveryReadinessCheck(config.FEDGATE_OIDC_ISSUER)] },
        }),
      ],
    };
  }
}

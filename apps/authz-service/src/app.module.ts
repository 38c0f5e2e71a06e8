import { DynamicModule, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import { DatabaseModule, DatabaseReadinessCheck } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, parseBrokers } from '@fedgate/kafka';
import { openFgaReadinessCheck } from '@fedgate/openfga';
import { PlatformModule } from '@fedgate/platform';
import type { AuthzServiceConfig } from '@fedgate/service-config';

/** OpenFGA decisions and run ownership (endpoints come with the authorization issue). */
@Module({})
export class AuthzServiceModule {
  static register(config: AuthzServiceConfig): DynamicModule {
    return {
      module: AuthzServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ clientId: 'authz-service', brokers: parseBrokers(config.FEDGATE_KAFKA_BROKERS), outboxRelay: true }),
        PlatformModule.forRoot({
          serviceName: 'authz-service',
          openApi: openApiDocument('authz'),
          readiness: {
            inject: [DatabaseReadinessCheck, KafkaReadinessCheck],
            checks: [openFgaReadinessCheck(config.FEDGATE_OPENFGA_URL)],
          },
        }),
      ],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { z } from 'zod';
import { DatabaseModule, DatabaseReadinessCheck } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, parseBrokers } from '@fedgate/kafka';
import { PlatformModule, databaseConfigSchema, kafkaConfigSchema, oidcConfigSchema, oidcDiscoveryReadinessCheck } from '@fedgate/platform';

export const loginServiceConfigSchema = databaseConfigSchema.extend(kafkaConfigSchema.shape).extend(oidcConfigSchema.shape);
export type LoginServiceConfig = z.infer<typeof loginServiceConfigSchema>;

/** Device flow against the upstream IdP; refresh; logout (endpoints come with the login issue). */
@Module({})
export class LoginServiceModule {
  static register(config: LoginServiceConfig): DynamicModule {
    return {
      module: LoginServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ clientId: 'login-service', brokers: parseBrokers(config.FEDGATE_KAFKA_BROKERS), outboxRelay: true }),
        PlatformModule.forRoot({
          serviceName: 'login-service',
          readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck], checks: [oidcDiscoveryReadinessCheck(config.FEDGATE_OIDC_ISSUER)] },
        }),
      ],
    };
  }
}

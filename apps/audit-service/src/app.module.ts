import { DynamicModule, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import { DatabaseModule, DatabaseReadinessCheck } from '@fedgate/database';
import { KafkaModule, KafkaReadinessCheck, parseBrokers } from '@fedgate/kafka';
import { PlatformModule } from '@fedgate/platform';
import type { AuditServiceConfig } from '@fedgate/service-config';

/** The audit log store and query API (endpoints come with the audit issue). */
@Module({})
export class AuditServiceModule {
  static register(config: AuditServiceConfig): DynamicModule {
    return {
      module: AuditServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ clientId: 'audit-service', brokers: parseBrokers(config.FEDGATE_KAFKA_BROKERS) }),
        PlatformModule.forRoot({ serviceName: 'audit-service', openApi: openApiDocument('audit'), readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck] } }),
      ],
    };
  }
}

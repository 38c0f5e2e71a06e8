import { DynamicModule, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import {
  AuditEventStore,
  ExportEvents,
  ExternalCheckpoints,
  GetEvent,
  IngestEvents,
  QueryEvents,
  SignCheckpoint,
  VerifyIntegrity,
  createCheckpointing,
  loadOrCreateCheckpointSigner,
  type Checkpointing,
} from '@fedgate/audit';
import { DatabaseModule, DatabaseReadinessCheck, PrismaService } from '@fedgate/database';
import { KAFKA_SETTINGS, KafkaCheckpointTopic, KafkaModule, KafkaReadinessCheck, kafkaSettingsFromConfig, type KafkaSettings } from '@fedgate/kafka';
import { PlatformModule, provideUseCases } from '@fedgate/platform';
import type { AuditServiceConfig } from '@fedgate/service-config';
import { AUDIT_INGEST_OPTIONS, AuditIngestListener } from './audit-ingest.listener';
import { AuditController, CHECKPOINT_PUBLIC_KEY } from './audit.controller';
import { AuditReaderGuard } from './audit-reader.guard';
import { INTEGRITY_SCHEDULE, IntegrityScheduler, type IntegritySchedule } from './integrity-scheduler';
import { ViewerController } from './viewer/viewer.controller';

const CHECKPOINTING = Symbol('CHECKPOINTING');

/** The audit log: ingest of every topic, signed checkpoints, the query API and the viewer. */
@Module({})
export class AuditServiceModule {
  static register(config: AuditServiceConfig): DynamicModule {
    // at start, so a missing or unsafe key stops the service with the reason
    const signer = loadOrCreateCheckpointSigner(config.FEDGATE_AUDIT_SIGNING_KEY_FILE);
    return {
      module: AuditServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ settings: kafkaSettingsFromConfig('audit-service', config), service: 'audit-service' }),
        PlatformModule.forRoot({
          serviceName: 'audit-service',
          apiKeys: config.FEDGATE_API_KEYS,
          openApi: openApiDocument('audit'),
          readiness: { inject: [DatabaseReadinessCheck, KafkaReadinessCheck] },
        }),
      ],
      controllers: [AuditController, ViewerController],
      providers: [
        { provide: AuditEventStore, useFactory: (prisma: PrismaService) => new AuditEventStore(prisma.client, prisma.pool), inject: [PrismaService] },
        { provide: CHECKPOINT_PUBLIC_KEY, useValue: signer.publicKey },
        // the audit store is the deps object of its use cases
        ...provideUseCases<AuditEventStore>(AuditEventStore, [IngestEvents, QueryEvents, GetEvent, ExportEvents]),
        // checkpoints also kept outside the database: the file beside the key, and the checkpoint topic
        {
          provide: CHECKPOINTING,
          useFactory: (store: AuditEventStore, kafka: KafkaSettings) => createCheckpointing(store, signer, config.FEDGATE_AUDIT_SIGNING_KEY_FILE, new KafkaCheckpointTopic(kafka)),
          inject: [AuditEventStore, KAFKA_SETTINGS],
        },
        { provide: ExternalCheckpoints, useFactory: (c: Checkpointing) => c.external, inject: [CHECKPOINTING] },
        { provide: SignCheckpoint, useFactory: (c: Checkpointing) => c.sign, inject: [CHECKPOINTING] },
        { provide: VerifyIntegrity, useFactory: (c: Checkpointing) => c.verify, inject: [CHECKPOINTING] },
        {
          provide: AUDIT_INGEST_OPTIONS,
          useValue: {
            consumerGroup: config.FEDGATE_AUDIT_CONSUMER_GROUP,
            fromBeginning: config.FEDGATE_AUDIT_CONSUMER_START === 'beginning',
            topics: config.FEDGATE_AUDIT_TOPICS,
            checkpointIntervalMs: config.FEDGATE_AUDIT_CHECKPOINT_INTERVAL_MS,
            checkpointEvents: config.FEDGATE_AUDIT_CHECKPOINT_EVENTS,
            sessionTimeoutMs: config.FEDGATE_AUDIT_SESSION_TIMEOUT_MS,
          },
        },
        {
          provide: INTEGRITY_SCHEDULE,
          useValue: { intervalMs: config.FEDGATE_AUDIT_VERIFY_INTERVAL_MS, rowsPerSecond: config.FEDGATE_AUDIT_VERIFY_ROWS_PER_SECOND } satisfies IntegritySchedule,
        },
        AuditReaderGuard,
        AuditIngestListener,
        IntegrityScheduler,
      ],
    };
  }
}

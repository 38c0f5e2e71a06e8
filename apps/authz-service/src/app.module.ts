import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { openApiDocument } from '@fedgate/contracts';
import {
  AuthorizationStore,
  BatchCheck,
  BootstrapServiceAdmin,
  BootstrapServiceAdminByLogin,
  CheckAccess,
  Decide,
  DecisionCache,
  GrantServiceAccess,
  ListRuns,
  OpenFgaCompatibleCheck,
  OwnershipProjector,
  ProjectionState,
  RebuildProjections,
  RegisterRun,
  RevokeServiceAccess,
  ShareRun,
  UnshareRun,
  readModelDsl,
  type OwnershipCommandDeps,
} from '@fedgate/authz';
import { DatabaseModule, DatabaseReadinessCheck, OutboxGroupWriter, OutboxStore, PrismaService, ProcessedEventStore } from '@fedgate/database';
import { KAFKA_SETTINGS, KafkaModule, KafkaReadinessCheck, KafkaSettings, OutboxRelay, parseBrokers } from '@fedgate/kafka';
import { OpenFgaHttpClient, openFgaReadinessCheck } from '@fedgate/openfga';
import { PlatformModule, provideFastJsonRoutes } from '@fedgate/platform';
import type { AuthzServiceConfig } from '@fedgate/service-config';
import { AuthzController } from './authz.controller';
import { AuthzErrorsInterceptor } from './authz-errors.interceptor';
import { fastCheckRoutes } from './fast-check.routes';
import { AUTHZ_CONFIG, AuthzLifecycle, AuthzStartup } from './authz.lifecycle';
import { AdminController, ApiKeyOrBearerGuard, OpenFgaCheckController } from './openfga-check.controller';

const OWNERSHIP_DEPS = Symbol('OWNERSHIP_DEPS');

/** OpenFGA decisions, event-sourced run ownership and grants, private by default. */
@Module({})
export class AuthzServiceModule {
  static register(config: AuthzServiceConfig): DynamicModule {
    const store = new AuthorizationStore(
      new OpenFgaHttpClient({ url: config.FEDGATE_OPENFGA_URL, apiKey: config.FEDGATE_OPENFGA_API_KEY, timeoutMs: config.FEDGATE_OPENFGA_TIMEOUT_MS }),
      { storeName: config.FEDGATE_OPENFGA_STORE_NAME, modelDsl: readModelDsl(), checkBatching: { maxInFlight: config.FEDGATE_OPENFGA_MAX_IN_FLIGHT } },
    );
    const cache = new DecisionCache({ maxEntries: config.FEDGATE_AUTHZ_CACHE_ENTRIES, ttlMs: config.FEDGATE_AUTHZ_CACHE_TTL_MS });
    const service = config.FEDGATE_SERVICE_NAME;
    const startup = new AuthzStartup();
    const command = <T>(UseCase: new (deps: OwnershipCommandDeps) => T) => ({ provide: UseCase, useFactory: (deps: OwnershipCommandDeps) => new UseCase(deps), inject: [OWNERSHIP_DEPS] });
    return {
      module: AuthzServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ clientId: 'authz-service', brokers: parseBrokers(config.FEDGATE_KAFKA_BROKERS), outboxRelay: true }),
        PlatformModule.forRoot({
          serviceName: 'authz-service',
          apiKeys: config.FEDGATE_API_KEYS,
          openApi: openApiDocument('authz'),
          readiness: {
            inject: [DatabaseReadinessCheck, KafkaReadinessCheck],
            checks: [openFgaReadinessCheck(config.FEDGATE_OPENFGA_URL), startup],
          },
        }),
      ],
      controllers: [AuthzController, OpenFgaCheckController, AdminController],
      providers: [
        { provide: AUTHZ_CONFIG, useValue: config },
        { provide: AuthzStartup, useValue: startup },
        { provide: AuthorizationStore, useValue: store },
        { provide: DecisionCache, useValue: cache },
        {
          provide: ProjectionState,
          useFactory: (prisma: PrismaService) => new ProjectionState(prisma.pool, { pollMs: 200, waitMs: config.FEDGATE_AUTHZ_CONSISTENCY_WAIT_MS }),
          inject: [PrismaService],
        },
        {
          provide: Decide,
          useFactory: (outbox: OutboxStore, projection: ProjectionState) => new Decide(store, cache, new OutboxGroupWriter(outbox), projection),
          inject: [OutboxStore, ProjectionState],
        },
        {
          provide: OwnershipProjector,
          useFactory: (kafka: KafkaSettings, prisma: PrismaService, processed: ProcessedEventStore, projection: ProjectionState) =>
            new OwnershipProjector(kafka, prisma.client, processed, store, projection, service),
          inject: [KAFKA_SETTINGS, PrismaService, ProcessedEventStore, ProjectionState],
        },
        {
          provide: OWNERSHIP_DEPS,
          useFactory: (prisma: PrismaService, outbox: OutboxStore, relay: OutboxRelay, decide: Decide): OwnershipCommandDeps => ({
            prisma: prisma.client,
            outbox,
            wakeRelay: () => relay.wake(),
            decide,
            defaultService: service,
          }),
          inject: [PrismaService, OutboxStore, OutboxRelay, Decide],
        },
        command(RegisterRun),
        command(ShareRun),
        command(UnshareRun),
        command(GrantServiceAccess),
        command(RevokeServiceAccess),
        command(BootstrapServiceAdmin),
        {
          provide: BootstrapServiceAdminByLogin,
          useFactory: (deps: OwnershipCommandDeps, bootstrap: BootstrapServiceAdmin) => new BootstrapServiceAdminByLogin(deps, bootstrap),
          inject: [OWNERSHIP_DEPS, BootstrapServiceAdmin],
        },
        { provide: CheckAccess, useFactory: (decide: Decide, projection: ProjectionState) => new CheckAccess(decide, projection), inject: [Decide, ProjectionState] },
        { provide: BatchCheck, useFactory: (decide: Decide, projection: ProjectionState) => new BatchCheck(decide, projection), inject: [Decide, ProjectionState] },
        provideFastJsonRoutes(fastCheckRoutes, [CheckAccess, BatchCheck]),
        { provide: OpenFgaCompatibleCheck, useFactory: (decide: Decide) => new OpenFgaCompatibleCheck(decide, store), inject: [Decide] },
        { provide: ListRuns, useFactory: (prisma: PrismaService, projection: ProjectionState) => new ListRuns(prisma.client, projection), inject: [PrismaService, ProjectionState] },
        {
          provide: RebuildProjections,
          useFactory: (prisma: PrismaService, kafka: KafkaSettings, projector: OwnershipProjector, projection: ProjectionState) =>
            new RebuildProjections({ pool: prisma.pool, kafka, projector, store, projection }),
          inject: [PrismaService, KAFKA_SETTINGS, OwnershipProjector, ProjectionState],
        },
        AuthzLifecycle,
        ApiKeyOrBearerGuard,
        { provide: APP_INTERCEPTOR, useClass: AuthzErrorsInterceptor },
      ],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { openApiDocument } from '@fedgate/contracts';
import {
  AuthorizationStore,
  Authorize,
  BatchCheck,
  BootstrapServiceAdmin,
  BootstrapServiceAdminByLogin,
  CheckAccess,
  Decide,
  DecisionCache,
  GrantServiceAccess,
  ListRunMembers,
  ListRuns,
  ListServiceMembers,
  RunResolver,
  OpenFgaCompatibleCheck,
  OwnershipProjector,
  ProjectionState,
  QuestionScope,
  RebuildProjections,
  Refusals,
  RegisterRun,
  RevokeServiceAccess,
  ShareRun,
  UnshareRun,
  readModelDsl,
  type OwnershipCommandDeps,
} from '@fedgate/authz';
import { DatabaseModule, DatabaseReadinessCheck, OutboxGroupWriter, OutboxStore, PrismaService, ProcessedEventStore } from '@fedgate/database';
import { KAFKA_SETTINGS, KafkaModule, KafkaReadinessCheck, KafkaSettings, OutboxRelay, kafkaSettingsFromConfig } from '@fedgate/kafka';
import { OpenFgaHttpClient, openFgaReadinessCheck } from '@fedgate/openfga';
import { PlatformModule, provideFastJsonRoutes } from '@fedgate/platform';
import type { AuthzServiceConfig } from '@fedgate/service-config';
import { createSessionRevocations, tokenVerificationProviders } from '@fedgate/token-verification';
import { AuthzController, MembershipController } from './authz.controller';
import { PersonVerifier } from './person-verifier';
import { fastCheckRoutes } from './fast-check.routes';
import { AUTHZ_CONFIG, AuthzLifecycle, AuthzStartup } from './authz.lifecycle';
import { AdminController, ApiKeyOrBearerGuard, OpenFgaCheckController } from './openfga-check.controller';

const OWNERSHIP_DEPS = Symbol('OWNERSHIP_DEPS');
const AUDIT_WRITER = Symbol('AUDIT_WRITER');

/**
 * OpenFGA decisions, event-sourced run ownership and grants, private by default. Keys are
 * scoped to their roles and services; people act with their own tokens, verified by
 * token-verification wired here as in token-service (same rules, cache, revocations).
 */
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
    // the same durable revoked-session list as token-service: POST /v1/authorize refuses what /v1/verify refuses
    const revocations = createSessionRevocations(config);
    const useCase = <T>(provide: new (...args: never[]) => T, useFactory: (...deps: never[]) => T, inject: unknown[]) => ({ provide, useFactory, inject: inject as never[] });
    const command = <T>(UseCase: new (deps: OwnershipCommandDeps) => T) => ({ provide: UseCase, useFactory: (deps: OwnershipCommandDeps) => new UseCase(deps), inject: [OWNERSHIP_DEPS] });
    return {
      module: AuthzServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        KafkaModule.forRoot({ settings: kafkaSettingsFromConfig('authz-service', config), service: 'authz-service', outboxRelay: true }),
        PlatformModule.forRoot({
          serviceName: 'authz-service',
          apiKeys: config.FEDGATE_API_KEYS,
          openApi: openApiDocument('authz'),
          readiness: {
            inject: [DatabaseReadinessCheck, KafkaReadinessCheck],
            checks: [openFgaReadinessCheck(config.FEDGATE_OPENFGA_URL), startup, revocations.readinessCheck()],
          },
        }),
      ],
      controllers: [AuthzController, MembershipController, OpenFgaCheckController, AdminController],
      providers: [
        // successes are recorded by the decision or change they allow (one event), refusals always
        ...tokenVerificationProviders(config, { auditSuccess: false, revocations }),
        PersonVerifier,
        { provide: AUDIT_WRITER, useFactory: (outbox: OutboxStore) => new OutboxGroupWriter(outbox), inject: [OutboxStore] },
        useCase(Refusals, (audit: OutboxGroupWriter) => new Refusals(audit), [AUDIT_WRITER]),
        useCase(RunResolver, (prisma: PrismaService) => new RunResolver(prisma.client), [PrismaService]),
        useCase(QuestionScope, (runs: RunResolver, refusals: Refusals) => new QuestionScope(runs, refusals), [RunResolver, Refusals]),
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
          useFactory: (audit: OutboxGroupWriter, projection: ProjectionState) => new Decide(store, cache, audit, projection),
          inject: [AUDIT_WRITER, ProjectionState],
        },
        {
          provide: OwnershipProjector,
          useFactory: (kafka: KafkaSettings, prisma: PrismaService, processed: ProcessedEventStore, projection: ProjectionState) =>
            new OwnershipProjector(kafka, prisma.client, processed, store, projection, service),
          inject: [KAFKA_SETTINGS, PrismaService, ProcessedEventStore, ProjectionState],
        },
        {
          provide: OWNERSHIP_DEPS,
          useFactory: (prisma: PrismaService, outbox: OutboxStore, relay: OutboxRelay, decide: Decide, refusals: Refusals, persons: PersonVerifier, runs: RunResolver): OwnershipCommandDeps => ({
            prisma: prisma.client,
            outbox,
            wakeRelay: () => relay.wake(),
            decide,
            refusals,
            runs,
            verifyPerson: (token, caller) => persons.verify(token, caller),
          }),
          inject: [PrismaService, OutboxStore, OutboxRelay, Decide, Refusals, PersonVerifier, RunResolver],
        },
        command(RegisterRun),
        command(ShareRun),
        command(UnshareRun),
        command(GrantServiceAccess),
        command(RevokeServiceAccess),
        command(BootstrapServiceAdmin),
        useCase(BootstrapServiceAdminByLogin, (deps: OwnershipCommandDeps, bootstrap: BootstrapServiceAdmin) => new BootstrapServiceAdminByLogin(deps, bootstrap), [OWNERSHIP_DEPS, BootstrapServiceAdmin]),
        useCase(CheckAccess, (decide: Decide, projection: ProjectionState, scope: QuestionScope) => new CheckAccess(decide, projection, scope), [Decide, ProjectionState, QuestionScope]),
        useCase(BatchCheck, (decide: Decide, projection: ProjectionState, scope: QuestionScope) => new BatchCheck(decide, projection, scope), [Decide, ProjectionState, QuestionScope]),
        useCase(
          Authorize,
          (decide: Decide, projection: ProjectionState, scope: QuestionScope, persons: PersonVerifier) => new Authorize(decide, projection, scope, (token, caller) => persons.verify(token, caller)),
          [Decide, ProjectionState, QuestionScope, PersonVerifier],
        ),
        provideFastJsonRoutes(fastCheckRoutes, [Authorize, CheckAccess, BatchCheck]),
        useCase(OpenFgaCompatibleCheck, (decide: Decide, scope: QuestionScope) => new OpenFgaCompatibleCheck(decide, store, scope), [Decide, QuestionScope]),
        useCase(ListRuns, (prisma: PrismaService, projection: ProjectionState, refusals: Refusals) => new ListRuns(prisma.client, projection, refusals), [PrismaService, ProjectionState, Refusals]),
        command(ListServiceMembers),
        useCase(
          ListRunMembers,
          (deps: OwnershipCommandDeps, prisma: PrismaService, projection: ProjectionState) => new ListRunMembers(deps, prisma.client, projection),
          [OWNERSHIP_DEPS, PrismaService, ProjectionState],
        ),
        {
          provide: RebuildProjections,
          useFactory: (prisma: PrismaService, kafka: KafkaSettings, projector: OwnershipProjector, projection: ProjectionState) =>
            new RebuildProjections({ pool: prisma.pool, kafka, projector, store, projection }),
          inject: [PrismaService, KAFKA_SETTINGS, OwnershipProjector, ProjectionState],
        },
        AuthzLifecycle,
        ApiKeyOrBearerGuard,
      ],
    };
  }
}

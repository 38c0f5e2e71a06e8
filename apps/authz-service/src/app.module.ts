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
  type AuthzDeps,
} from '@fedgate/authz';
import { DatabaseModule, DatabaseReadinessCheck, OutboxGroupWriter, OutboxStore, PrismaService, ProcessedEventStore } from '@fedgate/database';
import { KAFKA_SETTINGS, KafkaModule, KafkaReadinessCheck, KafkaSettings, OutboxRelay, kafkaSettingsFromConfig } from '@fedgate/kafka';
import { OpenFgaHttpClient, openFgaReadinessCheck } from '@fedgate/openfga';
import { PlatformModule, provideUseCases } from '@fedgate/platform';
import type { AuthzServiceConfig } from '@fedgate/service-config';
import { TOKEN_VERIFICATION_DEPS, VerifyAccessToken, createSessionRevocations, tokenVerificationProviders, type TokenVerificationDeps } from '@fedgate/token-verification';
import { AuthzController, MembershipController } from './authz.controller';
import { PersonVerifier } from './person-verifier';
import { AUTHZ_CONFIG, AuthzLifecycle, AuthzStartup } from './authz.lifecycle';
import { AdminController } from './admin.controller';
import { ApiKeyOrBearerGuard } from './api-key-or-bearer.guard';
import { OpenFgaCheckController } from './openfga-check.controller';

const AUTHZ_DEPS = Symbol('AUTHZ_DEPS');
const AUDIT_WRITER = Symbol('AUDIT_WRITER');

/** The service's own routes (PlatformModule adds /healthz, /readyz, /metrics, /openapi.json, /docs). */
export const AUTHZ_CONTROLLERS = [AuthzController, MembershipController, OpenFgaCheckController, AdminController];

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
    return {
      module: AuthzServiceModule,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.FEDGATE_DATABASE_URL }),
        // its relay pauses 2 s, not 0.5, and takes the audit-only topics it shares (decisions, system)
        // only once their events are 10 s old, not 2: the token- and login-service's relays take them
        // first, so this answering thread does not encode decision batches (a shorter cached tail at
        // 1,000 req/s: bench/README.md, sessions 18 and 21), and an ownership write, which wakes it at
        // once, never waits behind one. With the others down it still relays them, 10 s late.
        KafkaModule.forRoot({ settings: kafkaSettingsFromConfig('authz-service', config), service: 'authz-service', outboxRelay: { idleMs: 2000, gatherMs: 10_000 } }),
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
      controllers: AUTHZ_CONTROLLERS,
      providers: [
        // successes are recorded by the decision or change they allow (one event), refusals always
        ...tokenVerificationProviders(config, { auditSuccess: false, revocations }),
        ...provideUseCases<TokenVerificationDeps>(TOKEN_VERIFICATION_DEPS, [VerifyAccessToken]),
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
          provide: AUTHZ_DEPS,
          useFactory: (
            prisma: PrismaService,
            outbox: OutboxStore,
            relay: OutboxRelay,
            decide: Decide,
            refusals: Refusals,
            persons: PersonVerifier,
            runs: RunResolver,
            scope: QuestionScope,
            projection: ProjectionState,
          ): AuthzDeps => ({
            prisma: prisma.client,
            outbox,
            wakeRelay: () => relay.wake(),
            decide,
            refusals,
            runs,
            scope,
            projection,
            store,
            verifyPerson: (token, caller) => persons.verify(token, caller),
          }),
          inject: [PrismaService, OutboxStore, OutboxRelay, Decide, Refusals, PersonVerifier, RunResolver, QuestionScope, ProjectionState],
        },
        ...provideUseCases<AuthzDeps>(AUTHZ_DEPS, [
          RegisterRun,
          ShareRun,
          UnshareRun,
          GrantServiceAccess,
          RevokeServiceAccess,
          BootstrapServiceAdmin,
          BootstrapServiceAdminByLogin,
          CheckAccess,
          BatchCheck,
          Authorize,
          OpenFgaCompatibleCheck,
          ListRuns,
          ListServiceMembers,
          ListRunMembers,
        ]),
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

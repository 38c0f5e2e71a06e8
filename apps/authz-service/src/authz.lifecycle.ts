import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { consumerGroupOf, type EventData } from '@fedgate/contracts';
import { AuthorizationStore, BootstrapServiceAdmin, BootstrapServiceAdminByLogin, DecisionCache, OwnershipProjector, ProjectionState, RebuildProjections, isOwnershipEvent } from '@fedgate/authz';
import { CONSUMERS, CloudEventConsumer, KAFKA_SETTINGS, KafkaSettings, consumerOf, onceInMemory, retryUntilStopped, startOrStop } from '@fedgate/kafka';
import type { ReadinessCheck } from '@fedgate/platform';
import type { AuthzServiceConfig } from '@fedgate/service-config';

export const AUTHZ_CONFIG = Symbol('AUTHZ_CONFIG');

/** Readiness of the authorization itself: the model pinned and the projector running. */
export class AuthzStartup implements ReadinessCheck {
  readonly name = 'authz';
  started = false;

  async check(): Promise<void> {
    if (!this.started) throw new Error('authorization not started yet');
  }
}

/**
 * Start-up and shutdown of the authorization service, retried in the background until
 * OpenFGA, PostgreSQL and Kafka answer (checks fail closed meanwhile): pin the store and model,
 * append the bootstrap admin grant once, run the projector on the current generation, follow
 * the projector position (which empties the decision cache on every change), and hear every
 * ownership event in a consumer group of this instance's own, so the decision cache is
 * bypassed from the moment a change is announced until it is applied.
 */
@Injectable()
export class AuthzLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AuthzLifecycle.name);
  private stopped = false;
  // follows of new generations, one after the other
  private following: Promise<void> = Promise.resolve();
  private invalidations: CloudEventConsumer | null = null;
  private adminByLogin: CloudEventConsumer | null = null;

  constructor(
    @Inject(AUTHZ_CONFIG) private readonly config: AuthzServiceConfig,
    @Inject(KAFKA_SETTINGS) private readonly kafka: KafkaSettings,
    @Inject(AuthorizationStore) private readonly store: AuthorizationStore,
    @Inject(ProjectionState) private readonly projection: ProjectionState,
    @Inject(OwnershipProjector) private readonly projector: OwnershipProjector,
    @Inject(DecisionCache) private readonly cache: DecisionCache,
    @Inject(BootstrapServiceAdmin) private readonly bootstrapAdmin: BootstrapServiceAdmin,
    @Inject(BootstrapServiceAdminByLogin) private readonly bootstrapAdminByLogin: BootstrapServiceAdminByLogin,
    @Inject(RebuildProjections) private readonly rebuild: RebuildProjections,
    @Inject(AuthzStartup) private readonly startup: AuthzStartup,
  ) {}

  onApplicationBootstrap(): void {
    this.projection.onChange((next, previous) => {
      this.cache.invalidateAll();
      // another instance rebuilt: follow it onto the new generation
      if (this.startup.started && next.generation !== previous.generation && !this.rebuild.rebuilding && this.projector.generation !== next.generation) {
        this.following = this.following.then(() => this.follow(next.generation));
      }
    });
    void this.startWithRetry();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.projection.stop();
    await Promise.all([this.projector.stop(), this.invalidations?.stop().catch(() => undefined), this.adminByLogin?.stop().catch(() => undefined)]);
    this.store.close();
  }

  private async startWithRetry(): Promise<void> {
    await retryUntilStopped(() => this.start(), () => this.stopped, this.logger, 'authorization not started yet');
  }

  private async start(): Promise<void> {
    await this.projection.ensureRow();
    if (!this.store.isPinned) {
      const pinned = await this.store.pin();
      this.logger.log(pinned, pinned.written ? 'authorization model written and pinned' : 'authorization model unchanged; pinned');
    }
    if (this.config.FEDGATE_ADMIN_FLWR_AID && (await this.bootstrapAdmin.execute(this.config.FEDGATE_SERVICE_NAME, this.config.FEDGATE_ADMIN_FLWR_AID))) {
      this.logger.log({ service: this.config.FEDGATE_SERVICE_NAME, flwr_aid: this.config.FEDGATE_ADMIN_FLWR_AID }, 'bootstrap service admin granted');
    }
    if (this.config.FEDGATE_ADMIN_LOGIN) this.adminByLogin ??= await this.startAdminByLogin(this.config.FEDGATE_ADMIN_LOGIN);
    this.invalidations ??= await this.startInvalidations();
    if (!this.projector.running) await this.projector.start(this.projection.position.generation);
    this.projection.start();
    this.startup.started = true;
  }

  /**
   * Hears the logins (one group for all instances) from the first start with this setting on:
   * not the topic's history, which may hold logins at another IdP under the same name (the dev
   * IdP's alice is not Keycloak's alice).
   */
  private async startAdminByLogin(adminLogin: string): Promise<CloudEventConsumer> {
    const service = this.config.FEDGATE_SERVICE_NAME;
    const consumer = consumerOf(CONSUMERS.adminByLogin, this.kafka, {
      groupId: consumerGroupOf('authz-service', `admin-by-login-${service}`),
      handle: async (batch) => {
        for (const { event } of batch) {
          if (event.type !== 'fedgate.account.seen.v1') continue;
          const seen = event.data as EventData<'fedgate.account.seen.v1'>;
          if (await this.bootstrapAdminByLogin.execute(service, adminLogin, seen)) {
            this.logger.log({ service, flwr_aid: seen.account.flwr_aid }, 'bootstrap service admin granted at its first login');
          }
        }
      },
    });
    return startOrStop(consumer);
  }

  private async startInvalidations(): Promise<CloudEventConsumer> {
    const consumer = consumerOf(CONSUMERS.decisionCacheInvalidations, this.kafka, {
      groupId: consumerGroupOf('authz-service', `cache-${randomUUID()}`),
      sessionTimeoutMs: 10_000,
      handle: onceInMemory((event) => {
        if (!isOwnershipEvent(event)) return;
        this.cache.hold(event.id);
        this.projection
          .waitApplied(event.id, 60_000)
          .catch(() => undefined)
          .finally(() => this.cache.release(event.id));
      }),
    });
    return startOrStop(consumer);
  }

  private async follow(generation: number): Promise<void> {
    this.logger.log({ generation }, 'projections were rebuilt elsewhere; following the new generation');
    await this.projector.stop();
    await retryUntilStopped(() => this.rebuild.wipeDone(), () => this.stopped, this.logger, 'cannot tell whether the rebuild elsewhere finished its wipe');
    // stopping, rebuilding here now, or a newer generation came meanwhile (its own follow comes next)
    if (this.stopped || this.rebuild.rebuilding || this.projection.position.generation !== generation) return;
    await this.projector.start(generation).catch((err: Error) => this.logger.error({ reason: err.message }, 'projector did not restart'));
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { consumerGroupOf, type KafkaServicePrincipal } from '@fedgate/contracts';
import { CONSUMERS, CloudEventConsumer, KAFKA_SERVICE, KAFKA_SETTINGS, KafkaSettings, consumerOf, onceInMemory, startConsumerWithRetry } from '@fedgate/kafka';
import { CachingTokenVerifier } from './caching-token-verifier';
import { SessionRevocations } from './session-revocations';

export const MAX_TOKEN_LIFETIME_SECONDS = Symbol('MAX_TOKEN_LIFETIME_SECONDS');

/**
 * Keeps the revoked sessions of this process complete and current: follows the durable list
 * in PostgreSQL (SessionRevocations: read whole at start, then the new rows every few hundred
 * ms, so Kafka being down delays nothing), and hears every session-revoked event (a consumer
 * group of its own, from the latest offset) so a logout reaches every instance at once.
 * token-service and authz-service (POST /v1/authorize) both run it, each as its own Kafka principal.
 */
@Injectable()
export class SessionRevocationListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionRevocationListener.name);
  private consumer: CloudEventConsumer | null = null;
  private stopped = false;

  constructor(
    @Inject(KAFKA_SETTINGS) private readonly kafka: KafkaSettings,
    @Inject(KAFKA_SERVICE) private readonly principal: KafkaServicePrincipal,
    @Inject(CachingTokenVerifier) private readonly verifier: CachingTokenVerifier,
    @Inject(SessionRevocations) private readonly revocations: SessionRevocations,
    @Inject(MAX_TOKEN_LIFETIME_SECONDS) private readonly maxLifetimeSeconds: number,
  ) {}

  onApplicationBootstrap(): void {
    this.revocations.start();
    void this.startWithRetry();
  }

  private newConsumer(): CloudEventConsumer {
    // from the end (fromBeginning: false): the durable list holds everything revoked before
    return consumerOf(CONSUMERS.sessionRevocations, this.kafka, {
      groupId: consumerGroupOf(this.principal, `revocations-${randomUUID()}`),
      handle: onceInMemory((event) => {
        if (event.type !== 'fedgate.session.revoked.v1') return;
        // refused until the longest a token of that session can live, counted from the revocation
        const until = Math.floor(Date.parse(event.time) / 1000) + this.maxLifetimeSeconds;
        if (until <= Date.now() / 1000) return;
        if (event.data.session_id) this.revocations.add({ session_id: event.data.session_id, idp_sid: event.data.idp_sid, forget_after: until * 1000 });
        this.verifier.revoke(event.data.token_hashes, until);
      }),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.revocations.stop();
    await this.consumer?.stop().catch(() => undefined);
  }

  private async startWithRetry(): Promise<void> {
    this.consumer = await startConsumerWithRetry(() => this.newConsumer(), () => this.stopped, this.logger, 'session revocations');
  }
}

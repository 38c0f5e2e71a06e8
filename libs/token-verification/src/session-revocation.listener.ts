import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { TOPICS, consumerGroupOf, type KafkaServicePrincipal } from '@fedgate/contracts';
import { CloudEventConsumer, KAFKA_SETTINGS, KafkaSettings, onceInMemory, startConsumerWithRetry } from '@fedgate/kafka';
import { CachingTokenVerifier } from './caching-token-verifier';

export const MAX_TOKEN_LIFETIME_SECONDS = Symbol('MAX_TOKEN_LIFETIME_SECONDS');

/**
 * Every instance hears every session-revoked event (a consumer group of its own) and
 * refuses the listed tokens from then on. It replays the login topic from the start, so a
 * restarted instance still refuses tokens revoked before it started.
 */
@Injectable()
export class SessionRevocationListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionRevocationListener.name);
  private consumer: CloudEventConsumer | null = null;
  private stopped = false;

  constructor(
    @Inject(KAFKA_SETTINGS) private readonly kafka: KafkaSettings,
    @Inject(CachingTokenVerifier) private readonly verifier: CachingTokenVerifier,
    @Inject(MAX_TOKEN_LIFETIME_SECONDS) private readonly maxLifetimeSeconds: number,
  ) {}

  onApplicationBootstrap(): void {
    void this.startWithRetry();
  }

  private newConsumer(): CloudEventConsumer {
    return new CloudEventConsumer(this.kafka, {
      // token-service and authz-service (POST /v1/authorize) both run this listener, each under its own principal
      groupId: consumerGroupOf(this.kafka.clientId as KafkaServicePrincipal, `revocations-${randomUUID()}`),
      topics: [TOPICS.login],
      fromBeginning: true,
      handle: onceInMemory((event) => {
        if (event.type !== 'fedgate.session.revoked.v1') return;
        // refused until the longest a token of that session can live, counted from the revocation
        const until = Math.floor(Date.parse(event.time) / 1000) + this.maxLifetimeSeconds;
        if (until > Date.now() / 1000) this.verifier.revoke(event.data.token_hashes, until);
      }),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.consumer?.stop().catch(() => undefined);
  }

  private async startWithRetry(): Promise<void> {
    this.consumer = await startConsumerWithRetry(() => this.newConsumer(), () => this.stopped, this.logger, 'session revocations');
  }
}

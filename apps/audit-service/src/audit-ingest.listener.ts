import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { IngestEvents, SignCheckpoint, integrityAlertOf, type ChainBreach } from '@fedgate/audit';
import { CONSUMERS, CloudEventConsumer, CloudEventPublisher, KAFKA_SETTINGS, KafkaSettings, consumerOf, startConsumerWithRetry } from '@fedgate/kafka';
import { topicOf } from '@fedgate/contracts';
import { ServiceMetrics } from '@fedgate/platform';

export const AUDIT_INGEST_OPTIONS = Symbol('AUDIT_INGEST_OPTIONS');

export interface AuditIngestOptions {
  consumerGroup: string;
  fromBeginning: boolean;
  topics: readonly string[];
  checkpointIntervalMs: number;
  checkpointEvents: number;
  /** How soon the broker gives the partitions of a dead instance to its successor. */
  sessionTimeoutMs: number;
}

/**
 * Consumes every Fedgate topic (from the beginning, normally) into the audit log. Offsets are committed
 * by the consumer only after IngestEvents has committed the batch's rows: a crash at any
 * point redelivers, and redelivered ids are skipped. Signs a checkpoint every interval and
 * whenever `checkpointEvents` events arrived since the last one.
 */
@Injectable()
export class AuditIngestListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AuditIngestListener.name);
  private consumer: CloudEventConsumer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private sinceCheckpoint = 0;
  private signing: Promise<void> = Promise.resolve();
  private readonly stored: Counter;
  private readonly duplicates: Counter;
  private readonly headSeq: Gauge;
  private readonly refusals: Counter;
  private readonly extendsCheckpoint: Gauge;

  constructor(
    @Inject(KAFKA_SETTINGS) private readonly kafka: KafkaSettings,
    @Inject(IngestEvents) private readonly ingest: IngestEvents,
    @Inject(SignCheckpoint) private readonly signCheckpoint: SignCheckpoint,
    @Inject(AUDIT_INGEST_OPTIONS) private readonly options: AuditIngestOptions,
    @Inject(CloudEventPublisher) private readonly publisher: CloudEventPublisher,
    metrics: ServiceMetrics,
  ) {
    this.stored = new Counter({ name: 'fedgate_audit_events_stored_total', help: 'Events stored in the audit log', registers: [metrics.registry] });
    this.duplicates = new Counter({ name: 'fedgate_audit_events_duplicate_total', help: 'Redelivered events skipped (already stored)', registers: [metrics.registry] });
    this.headSeq = new Gauge({ name: 'fedgate_audit_head_seq', help: 'Seq of the last stored audit event', registers: [metrics.registry] });
    this.refusals = new Counter({
      name: 'fedgate_audit_checkpoint_refusals_total',
      help: 'Checkpoints not signed because the log no longer extends the last one signed (truncated or rewritten in the database)',
      labelNames: ['problem'],
      registers: [metrics.registry],
    });
    this.extendsCheckpoint = new Gauge({
      name: 'fedgate_audit_chain_extends_checkpoint',
      help: '1 while the log extends the last checkpoint signed (kept outside the database), 0 once the signer refused',
      registers: [metrics.registry],
    });
    this.extendsCheckpoint.set(1);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.checkpointSoon(), this.options.checkpointIntervalMs);
    // at once: loads the checkpoint file (or recovers it from the topic) and proves the log against it
    this.checkpointSoon();
    void this.startWithRetry();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.consumer?.stop().catch(() => undefined);
    await this.signing;
  }

  private newConsumer(): CloudEventConsumer {
    return consumerOf(CONSUMERS.auditIngest, this.kafka, {
      groupId: this.options.consumerGroup,
      // every topic from the beginning, unless a scratch log's settings narrow it
      topics: this.options.topics,
      fromBeginning: this.options.fromBeginning,
      // after a crash the restarted instance waits for the dead one's session to expire before
      // it gets the partitions: kafkajs 2 has no static membership (groupInstanceId), so the
      // session is short instead (the broker's minimum, 6 s, by default; kafkajs's own is 30 s)
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      // a backlog comes in batches of ~10,000 events (one transaction each) instead of ~1,700
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      handle: async (received) => {
        const result = await this.ingest.execute(received.map((r) => r.event));
        this.stored.inc(result.stored);
        this.duplicates.inc(result.duplicates);
        this.headSeq.set(Number(result.head.seq));
        this.sinceCheckpoint += result.stored;
        if (this.sinceCheckpoint >= this.options.checkpointEvents) this.checkpointSoon();
      },
    });
  }

  /** One signing at a time, off the ingest path. */
  private checkpointSoon(): void {
    this.signing = this.signing.then(async () => {
      this.sinceCheckpoint = 0;
      try {
        const outcome = await this.signCheckpoint.execute();
        if (outcome.kind === 'refused') await this.refused(outcome.breach, outcome.first);
        else if (outcome.kind === 'unavailable') this.logger.warn({ reason: outcome.reason }, 'the checkpoint log outside the database cannot be loaded yet; not signing');
        else this.extendsCheckpoint.set(1);
      } catch (err) {
        this.logger.warn({ reason: (err as Error).message }, 'could not sign a checkpoint; retrying at the next interval');
      }
    });
  }

  /** Metric every time; error log and alert event once per breach (the alert again until Kafka took it). */
  private async refused(breach: ChainBreach, first: boolean): Promise<void> {
    this.refusals.inc({ problem: breach.problem });
    this.extendsCheckpoint.set(0);
    if (!first) return;
    this.logger.error({ problem: breach.problem, first_bad_seq: breach.first_bad_seq, truncated_at: breach.truncated_at, checkpoint_seq: breach.checkpoint.seq, head_seq: breach.head?.seq ?? 0 }, 'the audit log no longer extends its last signed checkpoint; refusing to sign');
    try {
      const alert = integrityAlertOf(breach, this.signCheckpoint.keyId);
      await this.publisher.publish(topicOf(alert.type), [alert]);
      this.signCheckpoint.markReported(breach);
    } catch (err) {
      this.logger.warn({ reason: (err as Error).message }, 'could not send the integrity alert; retrying at the next interval');
    }
  }

  private async startWithRetry(): Promise<void> {
    this.consumer = await startConsumerWithRetry(() => this.newConsumer(), () => this.stopped, this.logger, 'the Fedgate topics');
  }
}

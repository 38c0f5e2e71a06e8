import { Logger } from '@nestjs/common';
import { consumerGroupOf } from '@fedgate/contracts';
import type { DatabaseTransaction, PrismaClient, ProcessedEventStore } from '@fedgate/database';
import { CONSUMERS, consumerOf, type CloudEventConsumer, type KafkaSettings, type ReceivedEvent } from '@fedgate/kafka';
import type { AuthorizationStore } from './authorization-store';
import { isOwnershipEvent, tupleChangeOf, type OwnershipEvent } from './ownership-tuples';
import { PROJECTOR_CONSUMER, type ProjectionState } from './projection-state';

/** The projector's position moved to another generation under it (a rebuild): stop applying. */
export class StaleGenerationError extends Error {
  override readonly name = 'StaleGenerationError';
}

/**
 * Consumes the ownership topic (the truth) and keeps two projections of it: OpenFGA tuples
 * and the PostgreSQL read model (runs, members, service members). Per event: skip it when
 * already applied; write its tuples (idempotent: duplicates and missing deletes ignored);
 * then, in one transaction, the read model, the applied event id and the position. A crash
 * in between redelivers the event and the same state results.
 * All instances share one consumer group per generation, so one applies at a time.
 */
export class OwnershipProjector {
  private readonly logger = new Logger(OwnershipProjector.name);
  private consumer: CloudEventConsumer | null = null;
  private generationValue = 0;
  /** Highest offset handled per partition (in this generation), to tell when a replay caught up. */
  private readonly handled = new Map<number, bigint>();

  constructor(
    private readonly kafka: KafkaSettings,
    private readonly prisma: PrismaClient,
    private readonly processed: ProcessedEventStore,
    private readonly store: AuthorizationStore,
    private readonly state: ProjectionState,
    private readonly defaultService: string,
  ) {}

  get generation(): number {
    return this.generationValue;
  }

  get running(): boolean {
    return this.consumer !== null;
  }

  async start(generation: number): Promise<void> {
    this.generationValue = generation;
    this.handled.clear();
    const consumer = consumerOf(CONSUMERS.ownershipProjector, this.kafka, {
      groupId: consumerGroupOf('authz-service', `projector-g${generation}`),
      // a projector that stops (restart, broker restart) is replaced quickly: writes wait on it
      sessionTimeoutMs: 10_000,
      handle: (events) => this.handleBatch(events),
    });
    try {
      await consumer.start();
    } catch (err) {
      await consumer.stop().catch(() => undefined);
      throw err;
    }
    this.consumer = consumer;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.stop().catch((err: Error) => this.logger.warn({ reason: err.message }, 'stopping the projector failed'));
  }

  /** True when every partition's offset below `highWatermarks` (next offsets) was handled. */
  caughtUp(highWatermarks: ReadonlyMap<number, bigint>): boolean {
    for (const [partition, high] of highWatermarks) {
      if (high > 0n && (this.handled.get(partition) ?? -1n) < high - 1n) return false;
    }
    return true;
  }

  private async handleBatch(events: ReceivedEvent[]): Promise<void> {
    for (const received of events) {
      if (isOwnershipEvent(received.event)) await this.apply(received.event);
      const offset = BigInt(received.offset);
      if (offset > (this.handled.get(received.partition) ?? -1n)) this.handled.set(received.partition, offset);
    }
  }

  async apply(event: OwnershipEvent): Promise<void> {
    const seen = await this.prisma.processedEvent.findUnique({ where: { consumer_eventId: { consumer: PROJECTOR_CONSUMER, eventId: event.id } } });
    if (seen) return;
    await this.store.apply(tupleChangeOf(event, this.defaultService));
    let applied: bigint | null = null;
    const generation = this.generationValue;
    await this.processed.runOnce(PROJECTOR_CONSUMER, event.id, async (tx) => {
      await applyToReadModel(tx, event, this.defaultService);
      const rows = await tx.$queryRaw<Array<{ applied_events: bigint }>>`
        UPDATE authz_projection SET applied_events = applied_events + 1, updated_at = now()
        WHERE id = 1 AND generation = ${generation} RETURNING applied_events`;
      if (rows.length === 0) throw new StaleGenerationError(`generation ${generation} is no longer current`);
      applied = BigInt(rows[0]!.applied_events);
    });
    if (applied !== null) this.state.update({ generation, applied });
  }
}

/** The read model's share of one event; mirrors tupleChangeOf. */
async function applyToReadModel(tx: DatabaseTransaction, event: OwnershipEvent, defaultService: string): Promise<void> {
  switch (event.type) {
    case 'fedgate.run.registered.v1': {
      const run = { service: event.data.service ?? defaultService, runId: event.data.run_id };
      const data = { owner: event.data.owner, federation: event.data.federation ?? null, registeredAt: new Date(event.time) };
      await tx.authzRun.upsert({ where: { service_runId: run }, create: { ...run, ...data }, update: data });
      return;
    }
    case 'fedgate.run.shared.v1': {
      const run = { service: event.data.service ?? defaultService, runId: event.data.run_id };
      // a share of a run never registered cannot happen through the API; skipped rather than blocking the topic
      if (!(await tx.authzRun.findUnique({ where: { service_runId: run } }))) return;
      const key = { ...run, flwrAid: event.data.flwr_aid };
      await tx.authzRunMember.upsert({ where: { service_runId_flwrAid: key }, create: { ...key, role: event.data.role }, update: { role: event.data.role } });
      return;
    }
    case 'fedgate.run.unshared.v1':
      await tx.authzRunMember.deleteMany({ where: { service: event.data.service ?? defaultService, runId: event.data.run_id, flwrAid: event.data.flwr_aid } });
      return;
    case 'fedgate.access.granted.v1': {
      const key = { service: event.data.service, flwrAid: event.data.flwr_aid };
      await tx.authzServiceMember.upsert({ where: { service_flwrAid: key }, create: { ...key, role: event.data.role }, update: { role: event.data.role } });
      return;
    }
    case 'fedgate.access.revoked.v1':
      await tx.authzServiceMember.deleteMany({ where: { service: event.data.service, flwrAid: event.data.flwr_aid } });
      return;
  }
}

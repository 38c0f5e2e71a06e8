import { Logger } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { DependencyUnavailableError, TOPICS, type RebuildResponse } from '@fedgate/contracts';
import { ensureTopics, kafkaClientConfig, kafkaLogCreator, type KafkaSettings } from '@fedgate/kafka';
import type { AuthorizationStore } from './authorization-store';
import type { OwnershipProjector } from './ownership-projector';
import { PROJECTOR_CONSUMER, type ProjectionState } from './projection-state';

/** The next offset of every partition of the ownership topic: a replay is done when it reached them. */
async function ownershipHighWatermarks(settings: KafkaSettings): Promise<Map<number, bigint>> {
  await ensureTopics(settings, [TOPICS.ownership]);
  const admin = new Kafka({ ...kafkaClientConfig(settings), logCreator: kafkaLogCreator }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(TOPICS.ownership);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * `fedgate authz rebuild`: the ownership topic is the truth, the projections are disposable.
 * Stops the projector, starts a new generation (wiping the read model and the applied event
 * ids in one transaction), deletes every tuple of the store (the model stays), and replays
 * the topic from offset 0 with a fresh consumer group; answers once the replay caught up
 * with the topic's end as it was. Other instances follow the new generation when they see it.
 * Concurrent calls share one rebuild.
 */
export class RebuildProjections {
  private readonly logger = new Logger(RebuildProjections.name);
  private inFlight: Promise<RebuildResponse> | null = null;

  constructor(
    private readonly deps: {
      pool: Pool;
      kafka: KafkaSettings;
      projector: OwnershipProjector;
      store: AuthorizationStore;
      projection: ProjectionState;
      catchUpTimeoutMs?: number;
    },
  ) {}

  get rebuilding(): boolean {
    return this.inFlight !== null;
  }

  execute(): Promise<RebuildResponse> {
    this.inFlight ??= this.rebuild().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async rebuild(): Promise<RebuildResponse> {
    const { pool, projector, store, projection } = this.deps;
    const started = Date.now();
    store.pinned(); // fail closed before touching anything when OpenFGA was never reached
    await projector.stop();
    let generation = projector.generation;
    try {
      generation = await this.newGeneration(pool);
      projection.update({ generation, applied: 0n });
      const tuplesDeleted = await store.deleteAllTuples();
      const watermarks = await ownershipHighWatermarks(this.deps.kafka);
      await projector.start(generation);
      const deadline = Date.now() + (this.deps.catchUpTimeoutMs ?? 300_000);
      while (!projector.caughtUp(watermarks)) {
        if (Date.now() > deadline) throw new DependencyUnavailableError('dependency_unavailable', 'kafka', 'The replay did not catch up in time; it goes on in the background.');
        await new Promise((r) => setTimeout(r, 50));
      }
      await projection.refresh();
      const replayed = Number(projection.position.applied);
      this.logger.log({ generation, replayed, tuples_deleted: tuplesDeleted }, 'projections rebuilt from the ownership topic');
      return { generation, replayed_events: replayed, tuples_deleted: tuplesDeleted, duration_ms: Date.now() - started };
    } finally {
      // whatever failed, the projector runs again (on the newest generation)
      if (!projector.running) await projector.start(generation).catch((err: Error) => this.logger.error({ reason: err.message }, 'projector did not restart after the rebuild'));
    }
  }

  private async newGeneration(pool: Pool): Promise<number> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ generation: number }>(
        'UPDATE authz_projection SET generation = generation + 1, applied_events = 0, updated_at = now() WHERE id = 1 RETURNING generation',
      );
      await client.query('DELETE FROM processed_event WHERE consumer = $1', [PROJECTOR_CONSUMER]);
      await client.query('TRUNCATE authz_run_member, authz_run, authz_service_member');
      await client.query('COMMIT');
      return rows[0]!.generation;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

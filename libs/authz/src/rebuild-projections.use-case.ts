import { Logger } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { DependencyUnavailableError, TOPICS, type RebuildResponse } from '@fedgate/contracts';
import { ensureTopics, kafkaClientConfig, kafkaLogCreator, type KafkaSettings } from '@fedgate/kafka';
import type { AuthorizationStore } from './authorization-store';
import type { OwnershipProjector } from './ownership-projector';
import { PROJECTOR_CONSUMER, type ProjectionState } from './projection-state';

// Arbitrary constant naming the rebuild's advisory lock, held from the new generation to the end
// of the wipe (a session lock: a holder that dies frees it with its connection).
const REBUILD_WIPE_LOCK_ID = 7_304_911_501n;

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
 * with the topic's end as it was. Other instances follow the new generation when they see it,
 * once the wipe is over (`wipeDone`). Concurrent calls share one rebuild.
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
      const tuplesDeleted = await this.underWipeLock(async () => {
        generation = await this.newGeneration(pool);
        projection.update({ generation, applied: 0n });
        return store.deleteAllTuples();
      });
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

  /**
   * Resolves once no rebuild (of any instance) is between its new generation and the end of its
   * wipe; at once when none is. An instance following a new generation replays only after this:
   * tuples it wrote during the wipe would be deleted after it recorded their events as applied,
   * and never written again.
   */
  async wipeDone(): Promise<void> {
    await this.underWipeLock(async () => undefined);
  }

  private async underWipeLock<T>(work: () => Promise<T>): Promise<T> {
    const client = await this.deps.pool.connect();
    let broken: Error | undefined;
    // a held client has no listener of the pool's: its connection dying must not crash the service
    const onError = (err: Error) => (broken ??= err);
    client.on('error', onError);
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [REBUILD_WIPE_LOCK_ID]).catch((err: Error) => {
        broken ??= err;
        throw err;
      });
      try {
        const result = await work();
        // the lock went with its connection: others may have replayed during the wipe
        if (broken) throw new DependencyUnavailableError('database_unavailable', 'postgres', 'The rebuild lost its database connection during the wipe; run it again.', { cause: broken });
        return result;
      } finally {
        // a connection that cannot unlock is discarded, which frees the lock too
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [REBUILD_WIPE_LOCK_ID]).catch((err: Error) => (broken = err));
      }
    } finally {
      client.off('error', onError);
      client.release(broken);
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

import { Prisma } from './generated/prisma/client';
import { FedgateEvent, topicOf } from '@fedgate/contracts';
import type { Pool } from 'pg';
import type { DatabaseTransaction } from './prisma.service';

// Arbitrary constant naming the relay's advisory lock.
const OUTBOX_RELAY_LOCK_ID = 7_364_025_110;

/** An event waiting in (or taken from) the outbox. */
export interface OutboxEntry {
  id: string;
  seq: bigint;
  topic: string;
  key: string;
  event: FedgateEvent;
}

/**
 * The transactional outbox table. `append` takes the caller's transaction so an event is
 * stored if and only if the state change it describes is committed. The hot paths
 * (appending events that describe no other state, relaying) use plain SQL on a pg pool:
 * one statement per batch, without the ORM's per-query work.
 */
export class OutboxStore {
  constructor(private readonly pool: Pool) {}

  async append(tx: DatabaseTransaction, events: readonly FedgateEvent[]): Promise<void> {
    if (events.length === 0) return;
    await tx.outboxEvent.createMany({
      data: events.map((event) => ({
        id: event.id,
        topic: topicOf(event.type),
        key: event.subject,
        event: event as unknown as Prisma.InputJsonValue,
      })),
    });
  }

  /** Appends outside any business transaction (an event that describes no stored state). */
  async appendNow(events: readonly FedgateEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.pool.query(
      `INSERT INTO outbox_event (id, topic, key, event)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
      [events.map((e) => e.id), events.map((e) => topicOf(e.type)), events.map((e) => e.subject), events.map((e) => JSON.stringify(e))],
    );
  }

  /**
   * Takes the oldest unpublished events (in write order), hands them to `publish`, and marks
   * them published, all in one transaction holding a transaction-scoped advisory lock: one
   * relay publishes at a time, so order is kept across relay instances. If `publish`
   * throws, nothing is marked and the same events are taken again next time.
   * Answers how many were published (0 also when another relay holds the lock).
   */
  async relayBatch(limit: number, publish: (entries: OutboxEntry[]) => Promise<void>): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows: [lock] } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [OUTBOX_RELAY_LOCK_ID]);
      const rows = lock?.locked
        ? (await client.query<{ id: string; seq: string; topic: string; key: string; event: FedgateEvent }>(
            'SELECT id, seq, topic, key, event FROM outbox_event WHERE published_at IS NULL ORDER BY seq LIMIT $1',
            [limit],
          )).rows
        : [];
      if (rows.length > 0) {
        await publish(rows.map((r) => ({ id: r.id, seq: BigInt(r.seq), topic: r.topic, key: r.key, event: r.event })));
        await client.query('UPDATE outbox_event SET published_at = now() WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

import { Prisma } from './generated/prisma/client';
import type { PrismaClient } from './generated/prisma/client';
import { FedgateEvent, topicOf } from '@fedgate/contracts';
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
 * stored if and only if the state change it describes is committed.
 */
export class OutboxStore {
  constructor(private readonly prisma: PrismaClient) {}

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
    await this.prisma.$transaction((tx) => this.append(tx, events));
  }

  /**
   * Takes the oldest unpublished events (in write order), hands them to `publish`, and marks
   * them published, all in one transaction holding a transaction-scoped advisory lock: one
   * relay publishes at a time, so order is kept across relay instances. If `publish`
   * throws, nothing is marked and the same events are taken again next time.
   * Answers how many were published (0 also when another relay holds the lock).
   */
  async relayBatch(limit: number, publish: (entries: OutboxEntry[]) => Promise<void>): Promise<number> {
    return this.prisma.$transaction(
      async (tx) => {
        const [{ locked }] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${OUTBOX_RELAY_LOCK_ID}::bigint) AS locked`;
        if (!locked) return 0;
        const rows = await tx.outboxEvent.findMany({ where: { publishedAt: null }, orderBy: { seq: 'asc' }, take: limit });
        if (rows.length === 0) return 0;
        await publish(rows.map((r) => ({ id: r.id, seq: r.seq, topic: r.topic, key: r.key, event: r.event as unknown as FedgateEvent })));
        await tx.outboxEvent.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { publishedAt: new Date() } });
        return rows.length;
      },
      { maxWait: 10_000, timeout: 60_000 },
    );
  }

  async countPending(): Promise<number> {
    return this.prisma.outboxEvent.count({ where: { publishedAt: null } });
  }
}

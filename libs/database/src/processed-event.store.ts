import type { PrismaClient } from './generated/prisma/client';
import type { DatabaseTransaction } from './prisma.service';

/**
 * Idempotent consumption: an event id is recorded in the same transaction as the effect
 * of handling it, so a redelivered event is recognised and skipped.
 */
export class ProcessedEventStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Runs `apply` once per (consumer, eventId); answers false when it had already run. */
  async runOnce(consumer: string, eventId: string, apply: (tx: DatabaseTransaction) => Promise<void>): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO processed_event (consumer, event_id) VALUES (${consumer}, ${eventId})
        ON CONFLICT DO NOTHING`;
      if (inserted === 0) return false;
      await apply(tx);
      return true;
    });
  }
}

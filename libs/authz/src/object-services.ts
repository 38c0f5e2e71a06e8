import { LRUCache } from 'lru-cache';
import { tryParseObjectRef } from '@fedgate/contracts';
import type { PrismaClient } from '@fedgate/database';

/**
 * The service an authorization object belongs to, so a key is asked about its own services
 * only: `service:X` is X; `run:N` is the service its claim names (cached: a run never moves);
 * null for a run not registered (there is nothing of anyone's to learn about it).
 */
export class ObjectServices {
  private readonly runs = new LRUCache<string, string>({ max: 100_000 });

  constructor(private readonly prisma: PrismaClient) {}

  async of(object: string): Promise<string | null> {
    const parsed = tryParseObjectRef(object);
    if (!parsed.ok) return null;
    if (parsed.ref.type === 'service') return parsed.ref.id;
    if (parsed.ref.type !== 'run') return null;
    const cached = this.runs.get(parsed.ref.id);
    if (cached !== undefined) return cached;
    const claim = await this.prisma.authzRunClaim.findUnique({ where: { runId: parsed.ref.id }, select: { service: true } });
    if (claim) this.runs.set(parsed.ref.id, claim.service);
    return claim?.service ?? null;
  }
}

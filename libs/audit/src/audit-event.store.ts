import { Prisma, type PrismaClient } from '@fedgate/database';
import { FedgateError, type AuditCheckpoint, type FedgateEvent } from '@fedgate/contracts';
import { EMPTY_CHAIN, chainRows, type AuditRow, type ChainHead } from './audit-record';

// Arbitrary constant naming the ingest's advisory lock: one chain writer at a time.
const AUDIT_CHAIN_LOCK_ID = 6_150_827_301;

/** Filters of the query API, already validated. */
export interface AuditFilters {
  actor?: string | undefined;
  type?: string | undefined;
  outcome?: string | undefined;
  object?: string | undefined;
  /** Inclusive. */
  since?: Date | undefined;
  /** Exclusive. */
  until?: Date | undefined;
}

export interface AppendResult {
  stored: number;
  /** Ids already in the log (redelivered after a crash) or repeated within the batch. */
  duplicates: number;
  head: ChainHead;
}

const ROW_SELECT = {
  seq: true,
  id: true,
  time: true,
  type: true,
  actorFlwrAid: true,
  actorAccountName: true,
  object: true,
  action: true,
  outcome: true,
  decisionId: true,
  source: true,
  subject: true,
  data: true,
  hash: true,
  prevHash: true,
} as const;

function whereOf(filters: AuditFilters): Prisma.AuditEventWhereInput {
  const where: Prisma.AuditEventWhereInput = {};
  if (filters.actor !== undefined) where.actorFlwrAid = filters.actor;
  if (filters.type !== undefined) where.type = filters.type;
  if (filters.outcome !== undefined) where.outcome = filters.outcome;
  if (filters.object !== undefined) where.object = filters.object;
  if (filters.since !== undefined || filters.until !== undefined) {
    where.time = { ...(filters.since ? { gte: filters.since } : {}), ...(filters.until ? { lt: filters.until } : {}) };
  }
  return where;
}

/** Reads fail closed with a code: the inputs are validated, so a failing query means PostgreSQL cannot answer. */
async function read<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (err) {
    throw new FedgateError('dependency_unavailable', 'The audit database cannot answer right now.', { cause: err });
  }
}

/** The audit_event and audit_checkpoint tables, through Prisma. */
export class AuditEventStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stores the events not stored yet, in one transaction holding the chain lock: skip known
   * ids, read the head, chain the new events after it, insert them in one statement. After
   * it returns the rows are committed (so the caller may commit its Kafka offsets); if the
   * process dies before, nothing of the batch is stored and it is simply delivered again.
   */
  async append(events: readonly FedgateEvent[]): Promise<AppendResult> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_ID}::bigint)`;
        const ids = [...new Set(events.map((e) => e.id))];
        const known = new Set(
          ids.length === 0 ? [] : (await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM audit_event WHERE id = ANY(${ids}::text[])`).map((r) => r.id),
        );
        const fresh: FedgateEvent[] = [];
        for (const event of events) {
          if (known.has(event.id)) continue;
          known.add(event.id);
          fresh.push(event);
        }
        const [last] = await tx.$queryRaw<ChainHead[]>`SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1`;
        const { rows, head } = chainRows(fresh, last ?? EMPTY_CHAIN);
        if (rows.length > 0) await tx.$executeRaw(insertStatement(rows));
        return { stored: rows.length, duplicates: events.length - rows.length, head };
      },
      { maxWait: 60_000, timeout: 120_000 },
    );
  }

  async head(): Promise<ChainHead | null> {
    const last = await read(this.prisma.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } }));
    return last ?? null;
  }

  /** Rows with seq > afterSeq in seq order, at most `limit` (chain verification, export, follow mode). */
  async rowsAfter(afterSeq: bigint, limit: number, filters: AuditFilters = {}): Promise<AuditRow[]> {
    return read(this.prisma.auditEvent.findMany({ where: { ...whereOf(filters), seq: { gt: afterSeq } }, orderBy: { seq: 'asc' }, take: limit, select: ROW_SELECT }));
  }

  /** Newest first: rows with seq < beforeSeq (or from the head), at most `limit`. */
  async rowsBefore(beforeSeq: bigint | null, limit: number, filters: AuditFilters = {}): Promise<AuditRow[]> {
    const where = whereOf(filters);
    if (beforeSeq !== null) where.seq = { lt: beforeSeq };
    return read(this.prisma.auditEvent.findMany({ where, orderBy: { seq: 'desc' }, take: limit, select: ROW_SELECT }));
  }

  async findById(id: string): Promise<AuditRow | null> {
    return read(this.prisma.auditEvent.findUnique({ where: { id }, select: ROW_SELECT }));
  }

  async addCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    await this.prisma.auditCheckpoint.createMany({
      data: [{ seq: BigInt(checkpoint.seq), headHash: checkpoint.head_hash, time: new Date(checkpoint.time), keyId: checkpoint.key_id, signature: checkpoint.signature }],
      skipDuplicates: true,
    });
  }

  async lastCheckpointSeq(): Promise<bigint> {
    const last = await this.prisma.auditCheckpoint.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
    return last?.seq ?? 0n;
  }

  /** Every checkpoint, oldest first. */
  async checkpoints(): Promise<AuditCheckpoint[]> {
    const rows = await read(this.prisma.auditCheckpoint.findMany({ orderBy: { seq: 'asc' } }));
    return rows.map((r) => ({ seq: Number(r.seq), head_hash: r.headHash, time: r.time.toISOString(), key_id: r.keyId, signature: r.signature }));
  }
}

/** One INSERT for the whole batch: arrays of column values unnested into rows. */
function insertStatement(rows: readonly AuditRow[]): Prisma.Sql {
  const col = <T>(pick: (row: AuditRow) => T): T[] => rows.map(pick);
  return Prisma.sql`
    INSERT INTO audit_event (seq, id, time, type, actor_flwr_aid, actor_account_name, object, action, outcome,
                             decision_id, source, subject, data, hash, prev_hash, ingested_at)
    SELECT u.*, clock_timestamp() FROM unnest(
      ${col((r) => r.seq.toString())}::text[]::bigint[],
      ${col((r) => r.id)}::text[],
      ${col((r) => r.time.toISOString())}::text[]::timestamptz[],
      ${col((r) => r.type)}::text[],
      ${col((r) => r.actorFlwrAid)}::text[],
      ${col((r) => r.actorAccountName)}::text[],
      ${col((r) => r.object)}::text[],
      ${col((r) => r.action)}::text[],
      ${col((r) => r.outcome)}::text[],
      ${col((r) => r.decisionId)}::text[],
      ${col((r) => r.source)}::text[],
      ${col((r) => r.subject)}::text[],
      ${col((r) => JSON.stringify(r.data))}::text[]::jsonb[],
      ${col((r) => r.hash)}::text[],
      ${col((r) => r.prevHash)}::text[]
    ) AS u`;
}

import type { Pool } from 'pg';
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

// The read hot path is plain SQL on the pg pool (as the outbox's is): a page of 100 rows
// costs a few ms this way, several times less than through the ORM's row mapping.
const ROW_COLUMNS = `seq, id, time, type, actor_flwr_aid AS "actorFlwrAid", actor_account_name AS "actorAccountName", object, action,
  outcome, decision_id AS "decisionId", source, subject, data, hash, prev_hash AS "prevHash"`;

type RawRow = Omit<AuditRow, 'seq'> & { seq: string };
const toRow = (r: RawRow): AuditRow => ({ ...r, seq: BigInt(r.seq) });

/** WHERE clause of the filters (and a seq bound), every value a parameter. */
function whereOf(filters: AuditFilters, seq?: { op: '<' | '>'; value: bigint }): { sql: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const add = (condition: string, value: unknown) => {
    values.push(value);
    conditions.push(condition.replace('?', `$${values.length}`));
  };
  if (filters.actor !== undefined) add('actor_flwr_aid = ?', filters.actor);
  if (filters.type !== undefined) add('type = ?', filters.type);
  if (filters.outcome !== undefined) add('outcome = ?', filters.outcome);
  if (filters.object !== undefined) add('object = ?', filters.object);
  if (filters.since !== undefined) add('time >= ?', filters.since);
  if (filters.until !== undefined) add('time < ?', filters.until);
  if (seq !== undefined) add(`seq ${seq.op} ?::bigint`, seq.value.toString());
  return { sql: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', values };
}

/** Reads fail closed with a code: the inputs are validated, so a failing query means PostgreSQL cannot answer. */
async function read<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (err) {
    throw new FedgateError('dependency_unavailable', 'The audit database cannot answer right now.', { cause: err });
  }
}

/** The audit_event and audit_checkpoint tables: written through Prisma, the hot reads on the pg pool. */
export class AuditEventStore {
  constructor(private readonly prisma: PrismaClient, private readonly pool: Pool) {}

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
    return this.select(whereOf(filters, { op: '>', value: afterSeq }), 'ASC', limit);
  }

  /** Newest first: rows with seq < beforeSeq (or from the head), at most `limit`. */
  async rowsBefore(beforeSeq: bigint | null, limit: number, filters: AuditFilters = {}): Promise<AuditRow[]> {
    return this.select(whereOf(filters, beforeSeq === null ? undefined : { op: '<', value: beforeSeq }), 'DESC', limit);
  }

  async findById(id: string): Promise<AuditRow | null> {
    const { rows } = await read(this.pool.query<RawRow>(`SELECT ${ROW_COLUMNS} FROM audit_event WHERE id = $1`, [id]));
    return rows[0] ? toRow(rows[0]) : null;
  }

  private async select(where: { sql: string; values: unknown[] }, order: 'ASC' | 'DESC', limit: number): Promise<AuditRow[]> {
    const { rows } = await read(
      this.pool.query<RawRow>(`SELECT ${ROW_COLUMNS} FROM audit_event ${where.sql} ORDER BY seq ${order} LIMIT $${where.values.length + 1}`, [...where.values, limit]),
    );
    return rows.map(toRow);
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

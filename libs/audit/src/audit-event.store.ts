import { setImmediate } from 'node:timers/promises';
import type { Pool } from 'pg';
import { Prisma, isUniqueViolation, type PrismaClient } from '@fedgate/database';
import { FedgateError, type AuditCheckpoint, type FedgateEvent } from '@fedgate/contracts';
import { EMPTY_CHAIN, chainRows, storableText, type AuditRow, type ChainHead } from './audit-record';

// Arbitrary constant naming the ingest's advisory lock: one chain writer at a time.
const AUDIT_CHAIN_LOCK_ID = 6_150_827_301;
// Rows per INSERT of a batch (a backlog arrives in batches of ~10,000).
const INSERT_CHUNK = 2_000;

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

/**
 * audit_event's columns (prisma/schema.prisma's AuditEvent), each with its AuditRow field and
 * SQL type: the one list the raw insert and the raw reads are built from.
 */
const AUDIT_COLUMNS = [
  ['seq', 'seq', 'bigint'],
  ['id', 'id', 'text'],
  ['time', 'time', 'timestamptz'],
  ['type', 'type', 'text'],
  ['actor_flwr_aid', 'actorFlwrAid', 'text'],
  ['actor_account_name', 'actorAccountName', 'text'],
  ['object', 'object', 'text'],
  ['action', 'action', 'text'],
  ['outcome', 'outcome', 'text'],
  ['decision_id', 'decisionId', 'text'],
  ['source', 'source', 'text'],
  ['subject', 'subject', 'text'],
  ['data', 'data', 'jsonb'],
  ['hash', 'hash', 'text'],
  ['prev_hash', 'prevHash', 'text'],
  ['record_json', 'recordJson', 'text'],
] as const satisfies ReadonlyArray<readonly [string, keyof AuditRow, string]>;

// The read hot path is plain SQL on the pg pool (as the outbox's is): a page of 100 rows
// costs a few ms this way, several times less than through the ORM's row mapping.
const ROW_COLUMNS = AUDIT_COLUMNS.map(([column, field]) => (column === field ? column : `${column} AS "${field}"`)).join(', ');
const INSERT_COLUMNS = Prisma.raw(AUDIT_COLUMNS.map(([column]) => column).join(', '));
const RECORDSET_TYPES = Prisma.raw(AUDIT_COLUMNS.map(([column, , type]) => `${column} ${type}`).join(', '));

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
   * Stores the events not stored yet, in one transaction holding the chain lock: read the
   * head, chain the new events after it, insert them. After it returns the rows are committed
   * (so the caller may commit its Kafka offsets); if the process dies before, nothing of the
   * batch is stored and it is simply delivered again.
   *
   * Optimistic: a batch is first inserted as if none of its ids were stored (the unique index
   * on id checks that anyway). Only when that fails on the id index — a batch redelivered after
   * a crash or a rebalance — is it inserted again without the ids already stored.
   */
  async append(events: readonly FedgateEvent[]): Promise<AppendResult> {
    const once = uniqueById(events);
    try {
      return await this.appendTransaction(events.length, once, false);
    } catch (err) {
      // a stored event id: PostgreSQL's unique index on audit_event.id
      if (!isUniqueViolation(err, 'audit_event_id_key')) throw err;
      return this.appendTransaction(events.length, once, true);
    }
  }

  private appendTransaction(received: number, events: readonly FedgateEvent[], skipStored: boolean): Promise<AppendResult> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK_ID}::bigint)`;
        let fresh = events;
        if (skipStored) {
          const ids = JSON.stringify(events.map((e) => storableText(e.id)));
          const stored = new Set((await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM audit_event WHERE id IN (SELECT json_array_elements_text(${ids}::json))`).map((r) => r.id));
          fresh = events.filter((e) => !stored.has(storableText(e.id)));
        }
        const [last] = await tx.$queryRaw<ChainHead[]>`SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1`;
        // In chunks, each chained while PostgreSQL inserts the one before: hashing (this
        // thread) and inserting (the database's) overlap instead of taking turns.
        let head = last ?? EMPTY_CHAIN;
        let inserting: Promise<unknown> = Promise.resolve();
        for (let from = 0; from < fresh.length; from += INSERT_CHUNK) {
          const chained = chainRows(fresh.slice(from, from + INSERT_CHUNK), head);
          head = chained.head;
          await inserting;
          // a Prisma query starts when then() is called: start it now, await it next round
          inserting = tx.$executeRaw(insertStatement(chained.rows)).then(() => undefined);
          inserting.catch(() => undefined); // rejections are awaited below, not unhandled
          // Prisma sends the query a few event-loop turns later: let it go before hashing on
          await setImmediate();
        }
        await inserting;
        return { stored: fresh.length, duplicates: received - fresh.length, head };
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

  /** Stored hash of each of these seqs (seqs not stored are absent). */
  async hashesAt(seqs: readonly number[]): Promise<Map<number, string>> {
    const { rows } = await read(this.pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_event WHERE seq = ANY($1::bigint[])', [seqs.map(String)]));
    return new Map(rows.map((r) => [Number(r.seq), r.hash]));
  }

  /** Just the chain links (seq, hash, prev_hash) of the rows after `afterSeq`, in seq order: the signer's proof reads no more. */
  async linksAfter(afterSeq: number, limit: number): Promise<ChainLink[]> {
    const { rows } = await read(
      this.pool.query<{ seq: string; hash: string; prev_hash: string }>('SELECT seq, hash, prev_hash FROM audit_event WHERE seq > $1::bigint ORDER BY seq LIMIT $2', [String(afterSeq), limit]),
    );
    return rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, prevHash: r.prev_hash }));
  }

  async addCheckpoint(checkpoint: AuditCheckpoint): Promise<void> {
    await this.prisma.auditCheckpoint.createMany({
      data: [{ seq: BigInt(checkpoint.seq), headHash: checkpoint.head_hash, time: new Date(checkpoint.time), keyId: checkpoint.key_id, prevCheckpointHash: checkpoint.prev_checkpoint_hash ?? null, signature: checkpoint.signature }],
      skipDuplicates: true,
    });
  }

  /** The stored checkpoints at these seqs. */
  async checkpointsAt(seqs: readonly number[]): Promise<AuditCheckpoint[]> {
    const rows = await read(this.prisma.auditCheckpoint.findMany({ where: { seq: { in: seqs.map(BigInt) } }, orderBy: { seq: 'asc' } }));
    return rows.map(checkpointOf);
  }

  /** The stored checkpoints after `afterSeq`, oldest first. */
  async checkpointsAfter(afterSeq: number): Promise<AuditCheckpoint[]> {
    const rows = await read(this.prisma.auditCheckpoint.findMany({ where: { seq: { gt: BigInt(afterSeq) } }, orderBy: { seq: 'asc' } }));
    return rows.map(checkpointOf);
  }

  async lastCheckpointSeq(): Promise<bigint> {
    const last = await this.prisma.auditCheckpoint.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
    return last?.seq ?? 0n;
  }

  /** Every checkpoint, oldest first. */
  async checkpoints(): Promise<AuditCheckpoint[]> {
    const rows = await read(this.prisma.auditCheckpoint.findMany({ orderBy: { seq: 'asc' } }));
    return rows.map(checkpointOf);
  }
}

/** One row's place in the chain, without its content. */
export interface ChainLink {
  seq: number;
  hash: string;
  prevHash: string;
}

function checkpointOf(r: { seq: bigint; headHash: string; time: Date; keyId: string; prevCheckpointHash: string | null; signature: string }): AuditCheckpoint {
  return {
    seq: Number(r.seq),
    head_hash: r.headHash,
    time: r.time.toISOString(),
    key_id: r.keyId,
    ...(r.prevCheckpointHash === null ? {} : { prev_checkpoint_hash: r.prevCheckpointHash }),
    signature: r.signature,
  };
}

/** The first event of each id (ids as stored: one PostgreSQL cannot hold is kept in storable form, see chainRows). */
function uniqueById(events: readonly FedgateEvent[]): FedgateEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const id = storableText(e.id);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * One INSERT for a chunk of rows, passed as one JSON text parameter: Prisma then converts one
 * string instead of 16 arrays element by element (which cost more than the hashing), and
 * PostgreSQL unpacks it with json_to_recordset on its own core.
 */
function insertStatement(rows: readonly AuditRow[]): Prisma.Sql {
  const json = JSON.stringify(
    rows.map((r) =>
      Object.fromEntries(
        AUDIT_COLUMNS.map(([column, field]) => {
          const value = r[field];
          return [column, typeof value === 'bigint' ? value.toString() : value instanceof Date ? value.toISOString() : value];
        }),
      ),
    ),
  );
  return Prisma.sql`
    INSERT INTO audit_event (${INSERT_COLUMNS}, ingested_at)
    SELECT r.*, clock_timestamp() FROM json_to_recordset(${json}::json) AS r(${RECORDSET_TYPES})`;
}

import { isDeepStrictEqual } from 'node:util';
import { AUDIT_GENESIS_HASH, auditEventHash, auditFactsOf, type AuditEvent, type AuditOutcome, type FedgateEvent } from '@fedgate/contracts';

/** One audit_event row as the audit lib reads and writes it (columns of prisma/schema.prisma). */
export interface AuditRow {
  seq: bigint;
  id: string;
  time: Date;
  type: string;
  actorFlwrAid: string | null;
  actorAccountName: string | null;
  object: string | null;
  action: string;
  outcome: string;
  decisionId: string | null;
  source: string;
  subject: string;
  data: unknown;
  hash: string;
  prevHash: string;
  /**
   * Set only when the record has text PostgreSQL refuses (U+0000, a lone surrogate): the exact
   * hashed record (without hash and prev_hash) as JSON text, which escapes them; the other
   * columns then hold its storable form (see `storableText`).
   */
  recordJson: string | null;
}

/** The head of the chain: the last row's seq and hash (seq 0 and the genesis hash when empty). */
export interface ChainHead {
  seq: bigint;
  hash: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0n, hash: AUDIT_GENESIS_HASH };

/**
 * The record the API serves for a row, and exactly what its hash covers. Every served
 * column is in it, so editing any of them in the database breaks the chain.
 */
export function recordOf(row: AuditRow): AuditEvent {
  const fromColumns = columnRecordOf(row);
  if (row.recordJson === null) return fromColumns;
  const exact: AuditEvent = { ...(JSON.parse(row.recordJson) as Omit<AuditEvent, 'hash' | 'prev_hash'>), hash: row.hash, prev_hash: row.prevHash };
  // the columns (what queries filter on) must be the storable form of that record: if they were
  // edited, serve them instead, which no longer hashes to the row's hash
  return isDeepStrictEqual(storableDeep(exact), fromColumns) ? exact : fromColumns;
}

function columnRecordOf(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    seq: Number(row.seq),
    time: row.time.toISOString(),
    type: row.type,
    actor: row.actorFlwrAid === null ? null : { flwr_aid: row.actorFlwrAid, account_name: row.actorAccountName },
    object: row.object,
    action: row.action,
    outcome: row.outcome as AuditOutcome,
    ...(row.decisionId === null ? {} : { decision_id: row.decisionId }),
    source: row.source,
    data: row.data as Record<string, unknown>,
    hash: row.hash,
    prev_hash: row.prevHash,
  };
}

// U+0000 and unpaired surrogates: jsonb refuses them, and text columns refuse U+0000
const UNSTORABLE_ALL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const UNSTORABLE = new RegExp(UNSTORABLE_ALL.source);

/** The text as a PostgreSQL column can hold it: U+0000 and lone surrogates become U+FFFD. */
export function storableText(text: string): string {
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, '\ufffd') : text;
}

function storableDeep<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storableDeep) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storableDeep(v)])) as T;
  return value;
}

function hasUnstorable(value: unknown): boolean {
  if (typeof value === 'string') return UNSTORABLE.test(value);
  if (Array.isArray(value)) return value.some(hasUnstorable);
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([k, v]) => UNSTORABLE.test(k) || hasUnstorable(v));
  return false;
}

/**
 * A row PostgreSQL would refuse (and so stall ingest of its partition forever) is stored
 * losslessly instead: the exact record in record_json, the columns in storable form.
 */
function storable(row: AuditRow, hashed: Omit<AuditEvent, 'hash'>): AuditRow {
  const { prev_hash: _prev, ...record } = hashed;
  if (!hasUnstorable(record) && !UNSTORABLE.test(row.subject)) return row;
  const text = (v: string | null) => (v === null ? null : storableText(v));
  return {
    ...row,
    id: storableText(row.id),
    type: storableText(row.type),
    actorFlwrAid: text(row.actorFlwrAid),
    actorAccountName: text(row.actorAccountName),
    object: text(row.object),
    action: storableText(row.action),
    outcome: storableText(row.outcome),
    decisionId: text(row.decisionId),
    source: storableText(row.source),
    subject: storableText(row.subject),
    data: storableDeep(row.data),
    recordJson: hasUnstorable(record) ? JSON.stringify(record) : null,
  };
}


/**
 * Appends events to the chain after `head`: each gets the next seq, the previous hash and
 * its own hash. Time is normalised to UTC milliseconds (what the column keeps).
 */
export function chainRows(events: readonly FedgateEvent[], head: ChainHead): { rows: AuditRow[]; head: ChainHead } {
  let { seq, hash } = head;
  const rows: AuditRow[] = [];
  for (const event of events) {
    const facts = auditFactsOf(event);
    seq += 1n;
    const row: AuditRow = {
      seq,
      id: event.id,
      time: new Date(event.time),
      type: event.type,
      actorFlwrAid: facts.actor?.flwr_aid ?? null,
      actorAccountName: facts.actor?.account_name ?? null,
      object: facts.object,
      action: facts.action,
      outcome: facts.outcome,
      decisionId: facts.decision_id ?? null,
      source: event.source,
      subject: event.subject,
      data: event.data,
      hash: '',
      prevHash: hash,
      recordJson: null,
    };
    const { hash: _unset, ...hashed } = columnRecordOf(row);
    row.hash = auditEventHash(hashed);
    hash = row.hash;
    rows.push(storable(row, hashed));
  }
  return { rows, head: { seq, hash } };
}

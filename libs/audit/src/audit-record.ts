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

/** The hash a row must carry given the previous row's hash (its own prev_hash is not trusted). */
export function expectedHash(row: AuditRow, prevHash: string): string {
  const { hash: _hash, ...record } = recordOf({ ...row, prevHash });
  return auditEventHash(record);
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
    };
    row.hash = expectedHash(row, hash);
    hash = row.hash;
    rows.push(row);
  }
  return { rows, head: { seq, hash } };
}

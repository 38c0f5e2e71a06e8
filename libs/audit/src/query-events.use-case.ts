import { FedgateError, type AuditEvent, type AuditEventListResponse, type AuditEventQuery, type AuditExportQuery } from '@fedgate/contracts';
import type { AuditEventStore, AuditFilters } from './audit-event.store';
import { recordOf } from './audit-record';
import { decodeCursor, encodeCursor } from './cursor';

export function filtersOf(query: Omit<AuditExportQuery, 'format'>): AuditFilters {
  return {
    actor: query.actor,
    type: query.type,
    outcome: query.outcome,
    object: query.object,
    since: query.since === undefined ? undefined : new Date(query.since),
    until: query.until === undefined ? undefined : new Date(query.until),
  };
}

/**
 * QueryEvents: one page of events. Newest first with a keyset cursor (seq), so pages never
 * overlap or skip even while events arrive; with `after_seq`, oldest first after that seq
 * (follow mode for live views and `fedgate audit tail`).
 */
export class QueryEvents {
  constructor(private readonly store: AuditEventStore) {}

  async execute(query: AuditEventQuery): Promise<AuditEventListResponse> {
    const filters = filtersOf(query);
    if (query.after_seq !== undefined) {
      const rows = await this.store.rowsAfter(BigInt(query.after_seq), query.limit, filters);
      return { events: rows.map(recordOf), next_cursor: null };
    }
    const before = query.cursor === undefined ? null : decodeCursor(query.cursor);
    // one row more than asked tells whether another page exists
    const rows = await this.store.rowsBefore(before, query.limit + 1, filters);
    const page = rows.slice(0, query.limit);
    return { events: page.map(recordOf), next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)!.seq) : null };
  }
}

/** GetEvent: one event by its CloudEvents id. */
export class GetEvent {
  constructor(private readonly store: AuditEventStore) {}

  async execute(id: string): Promise<AuditEvent> {
    const row = await this.store.findById(id);
    if (!row) throw new FedgateError('not_found', 'No audit event has this id.');
    return recordOf(row);
  }
}

const EXPORT_BATCH = 1000;

/** ExportEvents: every matching event, oldest first, fetched in keyset batches as the reader consumes them. */
export class ExportEvents {
  constructor(private readonly store: AuditEventStore) {}

  async *execute(query: Omit<AuditExportQuery, 'format'>): AsyncGenerator<AuditEvent> {
    const filters = filtersOf(query);
    let after = 0n;
    for (;;) {
      const rows = await this.store.rowsAfter(after, EXPORT_BATCH, filters);
      for (const row of rows) yield recordOf(row);
      if (rows.length < EXPORT_BATCH) return;
      after = rows.at(-1)!.seq;
    }
  }
}

import type { FedgateEvent } from '@fedgate/contracts';
import type { AppendResult, AuditEventStore } from './audit-event.store';

/**
 * IngestEvents: stores a batch of consumed events in the audit log, each once, chained.
 * Idempotent on the CloudEvents id, so at-least-once delivery gives exactly-once rows.
 */
export class IngestEvents {
  constructor(private readonly store: AuditEventStore) {}

  execute(events: readonly FedgateEvent[]): Promise<AppendResult> {
    return this.store.append(events);
  }
}

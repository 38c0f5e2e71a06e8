import type { FedgateEvent } from '@fedgate/contracts';
import type { DatabaseTransaction, ProcessedEventStore } from '@fedgate/database';
import type { ReceivedEvent } from './cloud-event.consumer';

/**
 * Per-event handler that skips event ids it has seen, remembering a bounded number of
 * them: for effects that are harmless to repeat after a restart (cache eviction).
 */
export function onceInMemory(handle: (event: FedgateEvent) => Promise<void> | void, capacity = 100_000) {
  const seen = new Set<string>();
  return async (events: ReceivedEvent[]): Promise<void> => {
    for (const { event } of events) {
      if (seen.has(event.id)) continue;
      await handle(event);
      seen.add(event.id);
      if (seen.size > capacity) seen.delete(seen.values().next().value as string);
    }
  };
}

/**
 * Per-event handler whose effect and the record of the event id commit in one
 * PostgreSQL transaction: a redelivered event is skipped, even across restarts.
 */
export function onceInDatabase(
  store: ProcessedEventStore,
  consumer: string,
  handle: (tx: DatabaseTransaction, event: FedgateEvent) => Promise<void>,
) {
  return async (events: ReceivedEvent[]): Promise<void> => {
    for (const { event } of events) {
      await store.runOnce(consumer, event.id, (tx) => handle(tx, event));
    }
  };
}

import type { Message } from 'kafkajs';
import { FedgateEvent, parseEventJson, toKafkaMessage } from '@fedgate/contracts';

/**
 * A Fedgate CloudEvent as the Kafka message it is published as, in structured mode (value =
 * the JSON envelope, key = its subject so one entity's events stay in one partition, in
 * order). `ce_id`/`ce_type` headers let tools filter without parsing.
 */
export function cloudEventMessage(event: FedgateEvent): Message {
  const { key, value, headers } = toKafkaMessage(event);
  return { key, value, headers: { ...headers, ce_id: event.id, ce_type: event.type } };
}

/** Parses and validates one Kafka message value as a known, versioned CloudEvent. */
export function fromKafkaValue(value: Buffer | null): FedgateEvent {
  return parseEventJson(value ?? '');
}

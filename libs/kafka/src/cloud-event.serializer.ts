import type { Message } from 'kafkajs';
import { FedgateEvent, parseEventJson, serializedKafkaMessage, type SerializedCloudEvent } from '@fedgate/contracts';

/**
 * A Fedgate CloudEvent as the Kafka message it is published as, in structured mode (value =
 * the JSON envelope, key = its subject so one entity's events stay in one partition, in
 * order). `ce_id`/`ce_type` headers let tools filter without parsing.
 */
export function cloudEventMessage(event: FedgateEvent): Message {
  return serializedCloudEventMessage({ id: event.id, type: event.type, key: event.subject, json: JSON.stringify(event) });
}

/** The same message for an event already serialized: its text is the value, as it is. */
export function serializedCloudEventMessage(event: SerializedCloudEvent): Message {
  const { key, value, headers } = serializedKafkaMessage(event.key, event.json);
  return { key, value, headers: { ...headers, ce_id: event.id, ce_type: event.type } };
}

/** Parses and validates one Kafka message value as a known, versioned CloudEvent. */
export function fromKafkaValue(value: Buffer | null): FedgateEvent {
  return parseEventJson(value ?? '');
}

// Helpers shared by the audit-service integration tests (not a test file itself).
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { API_KEY_HEADER, createCloudEvent, toKafkaMessage, type AuditEvent, type FedgateEvent, type StackFile } from '@fedgate/contracts';

export interface Answer<T = Record<string, any>> {
  status: number;
  body: T;
}

/** GET with the stack's key (`key: null` sends none); answers status and parsed JSON. */
export async function getJson<T = Record<string, any>>(stack: StackFile, pathAndQuery: string, key: string | null = stack.api_key, base = stack.services.audit): Promise<Answer<T>> {
  const res = await fetch(`${base}${pathAndQuery}`, { headers: key === null ? {} : { [API_KEY_HEADER]: key } });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Every page of a query, following next_cursor. */
export async function allPages(stack: StackFile, query: URLSearchParams, base = stack.services.audit): Promise<{ events: AuditEvent[]; pages: number }> {
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q = new URLSearchParams(query);
    if (cursor) q.set('cursor', cursor);
    const page = await getJson<{ events: AuditEvent[]; next_cursor: string | null }>(stack, `/v1/events?${q}`, stack.api_key, base);
    if (page.status !== 200) throw new Error(`page ${pages + 1}: ${page.status} ${JSON.stringify(page.body)}`);
    events.push(...page.body.events);
    cursor = page.body.next_cursor;
    pages += 1;
  } while (cursor);
  return { events, pages };
}

/** A plain kafkajs producer for tests that must publish many events fast. */
export async function testProducer(stack: StackFile): Promise<Producer> {
  const producer = new Kafka({ clientId: `audit-test-${randomUUID()}`, brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

/** Publishes events in the structured CloudEvents form the services use (one send per topic). */
export async function publishEvents(producer: Producer, events: readonly FedgateEvent[]): Promise<void> {
  const byTopic = new Map<string, Array<{ key: string; value: string; headers: Record<string, string> }>>();
  for (const event of events) {
    const m = toKafkaMessage(event);
    const list = byTopic.get(m.topic) ?? [];
    list.push({ key: m.key, value: m.value, headers: m.headers });
    byTopic.set(m.topic, list);
  }
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
}

/** `count` system.test events sharing `nonce` (so their rows are found by subject). */
export function systemTestEvents(nonce: string, count: number): FedgateEvent[] {
  return Array.from({ length: count }, (_, i) => createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests/audit', data: { message: `event ${i}`, nonce } }));
}

export async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// Helpers shared by the audit-service integration tests (not a test file itself).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { API_KEY_HEADER, createCloudEvent, toKafkaMessage, type AuditEvent, type FedgateEvent, type StackFile } from '@fedgate/contracts';
import { createScratchDatabase, freePort, repoRoot, waitFor, serviceKafkaEnv } from '@fedgate/testing';

export interface Answer<T = Record<string, any>> {
  status: number;
  body: T;
}

/** GET with the stack's key (`key: null` sends none); answers status and parsed JSON. */
export async function getJson<T = Record<string, any>>(stack: StackFile, pathAndQuery: string, key: string | null = stack.admin_api_key, base = stack.services.audit): Promise<Answer<T>> {
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
    const page = await getJson<{ events: AuditEvent[]; next_cursor: string | null }>(stack, `/v1/events?${q}`, stack.admin_api_key, base);
    if (page.status !== 200) throw new Error(`page ${pages + 1}: ${page.status} ${JSON.stringify(page.body)}`);
    events.push(...page.body.events);
    cursor = page.body.next_cursor;
    pages += 1;
  } while (cursor);
  return { events, pages };
}

/** A plain kafkajs producer for tests that must publish many events fast. */
export async function testProducer(stack: StackFile): Promise<Producer> {
  const producer = new Kafka({ clientId: `audit-test-${randomUUID()}`, brokers: stack.kafka.brokers, sasl: stack.kafka.sasl, logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

/** A kafkajs admin client of the stack's Kafka, connected (disconnect it after use). */
export async function testAdmin(stack: StackFile): Promise<Admin> {
  const admin = new Kafka({ clientId: `audit-test-${randomUUID()}`, brokers: stack.kafka.brokers, sasl: stack.kafka.sasl, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  return admin;
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

export interface IsolatedAuditService {
  url: string;
  databaseUrl: string;
  keyFile: string;
  stop(): Promise<void>;
}

/**
 * Another audit-service process (the real compiled service) on a database of its own, with
 * its own consumer group and signing key: tests that damage a log do it there, never to the
 * stack's log that other tests verify.
 */
export async function startIsolatedAuditService(
  stack: StackFile,
  name: string,
  extraEnv: Record<string, string> = {},
  // e.g. --cpu-prof for bench/audit
  nodeArgs: readonly string[] = [],
): Promise<IsolatedAuditService> {
  const { databaseUrl, drop: dropDatabase } = await createScratchDatabase(stack.postgres.url, name);
  const dir = mkdtempSync(path.join(tmpdir(), 'fedgate-audit-'));
  const keyFile = path.join(dir, 'keys', 'checkpoint-signing-key.pem');
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const logFile = path.join(dir, 'audit-service.log');
  const child = spawn(process.execPath, [...nodeArgs, path.join(repoRoot(), 'dist/apps/audit-service/src/main.js')], {
    env: {
      ...process.env,
      // the audit-service's principal; one reading scratch topics passes the operator's instead
      ...serviceKafkaEnv('audit-service'),
      FEDGATE_PORT: String(port),
      FEDGATE_DATABASE_URL: databaseUrl,
      FEDGATE_AUDIT_CONSUMER_GROUP: `audit-${name}`,
      FEDGATE_AUDIT_SIGNING_KEY_FILE: keyFile,
      FEDGATE_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await dropDatabase();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('the isolated audit service to be ready', async () => child.exitCode === null && (await fetch(`${url}/readyz`)).status === 200, 60_000, 250);
  } catch (err) {
    const log = readFileSync(logFile, 'utf8').slice(-2000);
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return { url, databaseUrl, keyFile, stop };
}

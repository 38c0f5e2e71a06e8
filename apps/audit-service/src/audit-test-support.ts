// Helpers shared by the audit-service integration tests (not a test file itself).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { API_KEY_HEADER, createCloudEvent, toKafkaMessage, type AuditEvent, type FedgateEvent, type StackFile } from '@fedgate/contracts';
import { createScratchDatabase, databaseUrlNamed, freePort, repoRoot, waitFor, serviceKafkaEnv } from '@fedgate/testing';

export interface Answer<T = Record<string, any>> {
  status: number;
  body: T;
}

/**
 * A GET. A kept-alive connection the server closed while this process was blocked (a spawnSync of
 * the CLI) fails once on reuse: a GET is safe to send again, on a new connection.
 */
export async function fetchGet(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const get = () => fetch(url, { headers });
  return get().catch((err: Error & { cause?: { code?: string } }) => (err.cause?.code === 'UND_ERR_SOCKET' ? get() : Promise.reject(err)));
}

/** GET with the stack's key (`key: null` sends none); answers status and parsed JSON. */
export async function getJson<T = Record<string, any>>(stack: StackFile, pathAndQuery: string, key: string | null = stack.admin_api_key, base = stack.services.audit): Promise<Answer<T>> {
  const res = await fetchGet(`${base}${pathAndQuery}`, key === null ? {} : { [API_KEY_HEADER]: key });
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
  /** Its scratch database as the owner role (created and migrated it). */
  databaseUrl: string;
  /** The same database as fedgate_audit, the role the service runs as. */
  serviceDatabaseUrl: string;
  /**
   * The same database as fedgate_audit_maintenance, the only role the audit tables' trigger lets
   * change audit rows: tests that tamper do it as this role.
   */
  maintenanceUrl: string;
  keyFile: string;
  /** The checkpoint file beside the key. */
  checkpointFile: string;
  /** Stops the process (SIGTERM) and starts it again on the same database, key and files. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A service-env.sh database URL (FEDGATE_AUDIT_DATABASE_URL …) pointed at another database. */
function roleUrl(variable: string, database: string): string {
  const url = process.env[variable];
  if (!url) throw new Error(`${variable} is not set: run the tests with scripts/infra/service-env.sh sourced (scripts/test.sh does)`);
  return databaseUrlNamed(url, database);
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
  const serviceDatabaseUrl = roleUrl('FEDGATE_AUDIT_DATABASE_URL', name);
  let child: ChildProcess;
  let exited: Promise<void>;
  const start = async () => {
    child = spawn(process.execPath, [...nodeArgs, path.join(repoRoot(), 'dist/apps/audit-service/src/main.js')], {
      env: {
        ...process.env,
        // the audit-service's principal; one reading scratch topics passes the operator's instead
        ...serviceKafkaEnv('audit-service'),
        FEDGATE_PORT: String(port),
        // as the stack's audit-service: its own role, which may only INSERT and SELECT audit rows
        FEDGATE_DATABASE_URL: serviceDatabaseUrl,
        FEDGATE_AUDIT_CONSUMER_GROUP: `audit-${name}`,
        FEDGATE_AUDIT_SIGNING_KEY_FILE: keyFile,
        FEDGATE_LOG_LEVEL: 'warn',
        ...extraEnv,
      },
      stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
    });
    const current = child;
    exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    try {
      await waitFor('the isolated audit service to be ready', async () => current.exitCode === null && (await fetch(`${url}/readyz`)).status === 200, 60_000, 250);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
  };
  const halt = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  const stop = async () => {
    await halt();
    await dropDatabase();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  const restart = async () => {
    await halt();
    await start();
  };
  return { url, databaseUrl, serviceDatabaseUrl, maintenanceUrl: roleUrl('FEDGATE_AUDIT_MAINTENANCE_DATABASE_URL', name), keyFile, checkpointFile: path.join(dir, 'keys', 'checkpoints.jsonl'), restart, stop };
}

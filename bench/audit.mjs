#!/usr/bin/env node
// Benchmark (not a test) of the audit service. Run through bench/audit (it sets the stack's environment).
//
//   bench/audit [--ingest-events 200000] [--rate 1000] [--rate-seconds 20] [--rows 1000000]
//               [--queries 200] [--node-args '--cpu-prof --cpu-prof-dir=/tmp/prof'] [--keep]
//
// One run, on a scratch database and a scratch Kafka topic with an audit-service process of its own
// (the compiled service, configured like the stack's, FEDGATE_AUDIT_TOPICS = the scratch topic):
//   1. ingest: --ingest-events system.test events are published first, then the service starts on
//      them from the beginning; rate = events / (last row's ingested_at - first row's ingested_at),
//      i.e. Kafka to committed rows, hash chain and all.
//   2. lag: --rate events/s for --rate-seconds, open loop; lag of each event = its row's ingested_at
//      (clock_timestamp() in the INSERT, just before commit) - the event's time (set when sent).
//   3. seed: the database is filled to --rows rows with IngestEvents in process (synthetic authz
//      decisions: 2,000 actors, 50,000 runs, 4 outcomes mixes, times over 30 days).
//   4. query: GET /v1/events over HTTPS keep-alive, --queries sequential requests per shape.
// Then the process is stopped and the database dropped (--keep keeps both).
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'dist', 'package.json'));
const dist = (p) => require(path.join(ROOT, 'dist', p));
const { Kafka, logLevel, CompressionTypes } = require('kafkajs');
const { Client, Pool } = require('pg');
const { createCloudEvent, toKafkaMessage } = dist('libs/contracts/src/index.js');
const { AuditEventStore, IngestEvents } = dist('libs/audit/src/index.js');
const { createPrismaClient } = dist('libs/database/src/index.js');
const { startIsolatedAuditService } = dist('apps/audit-service/src/audit-test-support.js');

const TARGETS = { ingestPerSecond: 10_000, lagP99Ms: 1000, queryP95Ms: 50 };

const args = parseArgs(process.argv.slice(2), { 'ingest-events': '200000', rate: '1000', 'rate-seconds': '20', rows: '1000000', queries: '200', 'node-args': '', keep: 'false' });
const stack = JSON.parse(readFileSync(process.env.FEDGATE_STACK_FILE, 'utf8'));
const ca = readFileSync(stack.ca_cert);
const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const topic = `fedgate.bench.audit.${runId}`;
const dbName = `fedgate_bench_audit_${runId}`;
const results = {};

function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 17).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    }
    const name = a.replace(/^--/, '');
    if (!(name in defaults)) throw new Error(`unknown option ${a}`);
    if (name === 'keep') out.keep = 'true';
    else out[name] = argv[++i];
  }
  return out;
}

const log = (...a) => console.log(...a);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const fmt = (n, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pg(fn) {
  const c = new Client({ connectionString: iso.databaseUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function systemEvent(nonce, i, time) {
  return createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/bench', data: { message: `bench ${i}`, nonce }, ...(time ? { time } : {}) });
}

function message(event) {
  const m = toKafkaMessage(event);
  return { key: m.key, value: m.value, headers: m.headers };
}

// ---- setup ----------------------------------------------------------------------------------
const kafka = new Kafka({ clientId: `bench-audit-${runId}`, brokers: stack.kafka.brokers, sasl: stack.kafka.sasl, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
await admin.disconnect();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
await producer.connect();

log(`bench/audit — ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (shared machine: other stacks may be running)`);
log(`scratch topic ${topic}, scratch database ${dbName}`);

// 1. ingest rate -----------------------------------------------------------------------------
const ingestEvents = Number(args['ingest-events']);
const ingestNonce = `ingest-${runId}`;
let t0 = performance.now();
for (let i = 0; i < ingestEvents; i += 1000) {
  const chunk = [];
  for (let j = i; j < Math.min(ingestEvents, i + 1000); j++) chunk.push(message(systemEvent(ingestNonce, j)));
  await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: chunk });
}
log(`published ${ingestEvents.toLocaleString()} events to Kafka in ${fmt((performance.now() - t0) / 1000)} s (backlog for the ingest phase)`);

const iso = await startIsolatedAuditService(stack, dbName, {
  FEDGATE_AUDIT_TOPICS: topic,
  // a scratch topic: only the operator may read it
  FEDGATE_KAFKA_USERNAME: stack.kafka.sasl.username,
  FEDGATE_KAFKA_PASSWORD: stack.kafka.sasl.password,
  FEDGATE_AUDIT_CONSUMER_START: 'beginning',
  FEDGATE_AUDIT_CHECKPOINT_INTERVAL_MS: '10000',
}, args['node-args'].split(' ').filter(Boolean));
try {
  t0 = performance.now();
  for (;;) {
    const n = await pg(async (c) => Number((await c.query('SELECT count(*) AS n FROM audit_event')).rows[0].n));
    if (n >= ingestEvents) break;
    if (performance.now() - t0 > 600_000) throw new Error(`ingest stalled at ${n} rows`);
    await sleep(250);
  }
  const span = await pg(async (c) => (await c.query('SELECT extract(epoch FROM max(ingested_at) - min(ingested_at)) AS s, count(*) AS n FROM audit_event')).rows[0]);
  results.ingest = Number(span.n) / Number(span.s);
  log(`ingest: ${Number(span.n).toLocaleString()} events from Kafka to committed rows in ${fmt(Number(span.s), 2)} s = ${fmt(results.ingest, 0)} events/s (first row to last row)`);

  // 2. lag at a fixed rate --------------------------------------------------------------------
  const rate = Number(args.rate);
  const seconds = Number(args['rate-seconds']);
  const lagNonce = `lag-${runId}`;
  const total = rate * seconds;
  const tick = 10; // ms: 10 events per send at 1,000/s
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  // sends are not awaited one by one (a slow acknowledgement must not slow the schedule down)
  const lagProducer = kafka.producer({ allowAutoTopicCreation: false });
  await lagProducer.connect();
  const pending = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = start + (sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const batch = [];
    for (let k = 0; k < perTick && sent < total; k++, sent++) batch.push(message(systemEvent(lagNonce, sent, new Date())));
    pending.push(lagProducer.send({ topic, acks: -1, messages: batch }));
  }
  await Promise.all(pending);
  await lagProducer.disconnect();
  const sendSeconds = (performance.now() - start) / 1000;
  for (;;) {
    const n = await pg(async (c) => Number((await c.query('SELECT count(*) AS n FROM audit_event WHERE subject = $1', [`system:${lagNonce}`])).rows[0].n));
    if (n >= total) break;
    await sleep(250);
  }
  const lag = await pg(async (c) =>
    (await c.query(`SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM ingested_at - time) * 1000) AS p, max(extract(epoch FROM ingested_at - time) * 1000) AS max
                    FROM audit_event WHERE subject = $1`, [`system:${lagNonce}`])).rows[0],
  );
  results.lagP50 = Number(lag.p[0]);
  results.lagP99 = Number(lag.p[1]);
  log(`lag at ${rate.toLocaleString()} events/s for ${seconds} s (sent in ${fmt(sendSeconds, 1)} s = ${fmt(total / sendSeconds, 0)} events/s achieved): p50 ${fmt(results.lagP50, 1)} ms, p99 ${fmt(results.lagP99, 1)} ms, max ${fmt(Number(lag.max), 1)} ms (event time → row written)`);

  // 3. seed to --rows rows ---------------------------------------------------------------------
  const rows = Number(args.rows);
  const prisma = createPrismaClient(iso.databaseUrl, 2);
  const pool = new Pool({ connectionString: iso.databaseUrl, max: 1 });
  const ingest = new IngestEvents(new AuditEventStore(prisma, pool));
  let have = await pg(async (c) => Number((await c.query('SELECT count(*) AS n FROM audit_event')).rows[0].n));
  const seedStart = performance.now();
  const seeded0 = have;
  const now = Date.now();
  const relations = ['has_access', 'can_view', 'can_stop', 'can_read_logs', 'can_pull_artifacts'];
  while (have < rows) {
    const batch = [];
    for (let i = 0; i < Math.min(5000, rows - have); i++) {
      const n = have + i;
      const allowed = n % 4 !== 0;
      batch.push(
        createCloudEvent({
          type: 'fedgate.authz.decision.v1',
          source: '/fedgate/authz-service',
          time: new Date(now - 30 * 86_400_000 + Math.floor((n / rows) * 30 * 86_400_000)),
          data: { decision_id: randomUUID(), flwr_aid: `user-${n % 2000}`, relation: relations[n % 5], object: `run:${n % 50_000}`, allowed, endpoint: 'check', cached: n % 3 === 0, ...(n % 97 === 0 && !allowed ? { error: 'authz_unavailable' } : {}) },
        }),
      );
    }
    have += (await ingest.execute(batch)).stored;
    if (have % 100_000 < 5000) process.stdout.write(`  seeded ${have.toLocaleString()} rows\r`);
  }
  await prisma.$disconnect();
  await pool.end();
  const seedSeconds = (performance.now() - seedStart) / 1000;
  log(`seeded ${(have - seeded0).toLocaleString()} rows through IngestEvents in ${fmt(seedSeconds)} s (${fmt((have - seeded0) / seedSeconds, 0)} rows/s, database only); ${have.toLocaleString()} rows stored`);
  await pg((c) => c.query('VACUUM ANALYZE audit_event'));

  // 4. queries -------------------------------------------------------------------------------
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
  const get = (p) =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      https
        .get(`${iso.url}${p}`, { agent, headers: { 'x-fedgate-key': stack.admin_api_key } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t, body: JSON.parse(Buffer.concat(chunks).toString()) }) : reject(new Error(`${p}: ${res.statusCode} ${Buffer.concat(chunks)}`))));
        })
        .on('error', reject);
    });
  const middle = new Date(now - 15 * 86_400_000);
  const deepCursor = (await get(`/v1/events?limit=1000`)).body.next_cursor;
  const shapes = [
    ['no filter, newest 100', (i) => `/v1/events?limit=100`],
    ['no filter, page at a cursor', () => `/v1/events?limit=100&cursor=${deepCursor}`],
    ['actor', (i) => `/v1/events?limit=100&actor=user-${i % 2000}`],
    ['object', (i) => `/v1/events?limit=100&object=run:${(i * 7919) % 50_000}`],
    ['type + outcome=denied', () => `/v1/events?limit=100&type=fedgate.authz.decision.v1&outcome=denied`],
    ['actor + outcome=failure', (i) => `/v1/events?limit=100&actor=user-${(i * 97) % 2000}&outcome=failure`],
    ['time range (1 h, 15 days ago)', (i) => `/v1/events?limit=100&since=${new Date(middle.getTime() + i * 60_000).toISOString()}&until=${new Date(middle.getTime() + i * 60_000 + 3_600_000).toISOString()}`],
  ];
  const queries = Number(args.queries);
  results.queries = [];
  log(`GET /v1/events over ${have.toLocaleString()} rows, ${queries} sequential requests per shape (HTTPS keep-alive, 20 warm-up requests each):`);
  for (const [name, make] of shapes) {
    for (let i = 0; i < 20; i++) await get(make(i + 10_000));
    const times = [];
    let returned = 0;
    for (let i = 0; i < queries; i++) {
      const r = await get(make(i));
      times.push(r.ms);
      returned += r.body.events.length;
    }
    times.sort((a, b) => a - b);
    results.queries.push({ name, p50: pct(times, 50), p95: pct(times, 95) });
    log(`  ${name.padEnd(32)} p50 ${fmt(pct(times, 50), 1).padStart(6)} ms   p95 ${fmt(pct(times, 95), 1).padStart(6)} ms   max ${fmt(times.at(-1), 1).padStart(6)} ms   (${fmt(returned / queries, 0)} events per answer)`);
  }
  agent.destroy();
} finally {
  await producer.disconnect();
  if (args.keep === 'true') {
    log(`kept: database ${iso.databaseUrl.replace(/:[^:@/]+@/, ':***@')} and the service at ${iso.url} (stop it yourself)`);
  } else {
    await iso.stop();
    const a = kafka.admin();
    await a.connect();
    await a.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await a.disconnect();
  }
}

// ---- verdict ----------------------------------------------------------------------------------
const worstP95 = Math.max(...results.queries.map((q) => q.p95));
const verdicts = [
  [`ingest ≥ ${TARGETS.ingestPerSecond.toLocaleString()} events/s`, results.ingest >= TARGETS.ingestPerSecond, `${fmt(results.ingest, 0)} events/s`],
  [`lag p99 < ${TARGETS.lagP99Ms} ms at ${args.rate} events/s`, results.lagP99 < TARGETS.lagP99Ms, `${fmt(results.lagP99, 1)} ms`],
  [`query p95 < ${TARGETS.queryP95Ms} ms (every shape)`, worstP95 < TARGETS.queryP95Ms, `worst p95 ${fmt(worstP95, 1)} ms`],
];
for (const [what, pass, value] of verdicts) log(`${pass ? 'PASS' : 'FAIL'}  ${what}: ${value}`);
log(`summary: ingest ${fmt(results.ingest, 0)}/s; lag p50 ${fmt(results.lagP50, 1)} ms p99 ${fmt(results.lagP99, 1)} ms; query p50/p95 no filter ${fmt(results.queries[0].p50)}/${fmt(results.queries[0].p95)} ms, worst filtered p95 ${fmt(worstP95)} ms`);
process.exit(verdicts.every(([, pass]) => pass) ? 0 : 2);

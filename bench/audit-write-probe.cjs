// Timing around the token-service's audit write, without the HTTP service: what OutboxStore.append
// (Prisma interactive $transaction + createMany, as appendNow does) costs per batch of N events,
// next to one constant-text multi-row INSERT through pg. Every transaction is ROLLED BACK, so
// nothing is committed and no event is ever relayed or audited.
//   node bench/audit-write-probe.cjs
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const { createPrismaClient, OutboxStore } = require(path.join(root, 'dist/node_modules/@fedgate/database'));
const { createCloudEvent, topicOf } = require(path.join(root, 'dist/node_modules/@fedgate/contracts'));
const { Client } = require(path.join(root, 'node_modules/pg'));
const stack = require(path.join(state, 'stack.json'));

class Rollback extends Error {}
const event = () =>
  createCloudEvent({
    type: 'fedgate.token.verified.v1',
    source: '/fedgate/token-service',
    data: { account: { flwr_aid: 'alice', account_name: 'alice' }, access_token_hash: 'a'.repeat(64), scope: '', expires_at: 1_900_000_000, method: 'jwt', cached: true, origin: { client_id: 'dev', source_ip: '127.0.0.1' } },
  });

async function measure(label, n, run) {
  for (let i = 0; i < 20; i++) await run(n);
  const runs = 100;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await run(n);
  const wall = (performance.now() - t0) / runs;
  const cpu = process.cpuUsage(cpu0);
  const perBatch = (cpu.user + cpu.system) / 1000 / runs;
  console.log(`${label.padEnd(44)} batch ${String(n).padStart(3)}: ${wall.toFixed(2).padStart(6)} ms wall, ${perBatch.toFixed(2).padStart(6)} ms CPU/batch, ${(perBatch / n).toFixed(3)} ms CPU/event`);
}

(async () => {
  const prisma = createPrismaClient(stack.postgres.url);
  const store = new OutboxStore(prisma);
  const prismaAppend = async (n) => {
    const events = Array.from({ length: n }, event);
    try {
      await prisma.$transaction(async (tx) => {
        await store.append(tx, events);
        throw new Rollback();
      });
    } catch (e) {
      if (!(e instanceof Rollback)) throw e;
    }
  };
  const pg = new Client({ connectionString: stack.postgres.url });
  await pg.connect();
  const rawInsert = async (n) => {
    const events = Array.from({ length: n }, event);
    await pg.query('BEGIN');
    await pg.query('INSERT INTO outbox_event (id, topic, key, event) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])', [
      events.map((e) => e.id),
      events.map((e) => topicOf(e.type)),
      events.map((e) => e.subject ?? ''),
      events.map((e) => JSON.stringify(e)),
    ]);
    await pg.query('ROLLBACK'); // the probe's own BEGIN/ROLLBACK; a real single INSERT needs neither
  };
  // JIT and connection warm-up for both paths, then the measured rounds
  for (const n of [1, 8, 32, 100]) for (let i = 0; i < 30; i++) { await prismaAppend(n); await rawInsert(n); }
  for (const n of [1, 8, 32, 100]) await measure('Prisma $transaction + createMany (appendNow)', n, prismaAppend);
  for (const n of [1, 8, 32, 100]) await measure('pg: INSERT … SELECT unnest($1..$4)', n, rawInsert);
  await pg.end();
  await prisma.$disconnect();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

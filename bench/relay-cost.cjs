// The outbox relay's client-side CPU per event, part by part, on the stack's own outbox rows:
// taking a batch from PostgreSQL (the event as jsonb, parsed by pg, and as text), measuring it
// (JSON.stringify + byteLength, as the relay does before each send) and publishing it with the
// services' own CloudEventPublisher (kafkajs, acks=all, idempotent) to a scratch topic, which is
// deleted at the end, and reading them back with a plain kafkajs consumer. The relay sends up to 1 MiB at a time, so sends here are of 1,000 events.
// CPU is this process's (process.cpuUsage), so neighbours on the machine change it little.
//   node bench/relay-cost.cjs [sends]
const { readFileSync } = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const { Pool } = require(path.join(root, 'node_modules/pg'));
const { Kafka, logLevel } = require(path.join(root, 'node_modules/kafkajs'));
const { CloudEventPublisher } = require(path.join(root, 'dist/libs/kafka/src/cloud-event.publisher.js'));
const { operatorKafkaSettings, kafkaClientConfig } = require(path.join(root, 'dist/libs/kafka/src/kafka-settings.js'));
const stack = JSON.parse(readFileSync(path.join(state, 'stack.json'), 'utf8'));
const SENDS = Number(process.argv[2] ?? 40);
const BATCH = 1000;
const topic = `bench-relay-cost-${process.pid}`;

/** Microseconds of this process's CPU per event over `rounds` calls of `fn`, each handling BATCH events. */
async function perEvent(rounds, fn) {
  for (let i = 0; i < 3; i++) await fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / rounds / BATCH;
}

(async () => {
  const pool = new Pool({ connectionString: stack.postgres.url, max: 1 });
  const settings = operatorKafkaSettings(stack, 'bench-relay-cost');
  const publisher = new CloudEventPublisher(settings);
  const admin = new Kafka({ ...kafkaClientConfig(settings), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const take = (name, column) => pool.query({ name, text: `SELECT id, seq, topic, key, ${column} AS event FROM outbox_event ORDER BY seq DESC LIMIT $1`, values: [BATCH] });
    const { rows } = await take('bench-take-jsonb', 'event');
    if (rows.length < BATCH) throw new Error(`the outbox holds ${rows.length} events; run bench/authorize first (it needs ${BATCH})`);
    const events = rows.map((r) => r.event);
    const results = [
      ['SELECT a batch, event as jsonb (parsed by pg)', await perEvent(20, () => take('bench-take-jsonb', 'event'))],
      ['SELECT a batch, event::text (not parsed)', await perEvent(20, () => take('bench-take-text', 'event::text'))],
      ['JSON.stringify + byteLength (the relay sizes each event)', await perEvent(20, () => events.forEach((e) => Buffer.byteLength(JSON.stringify(e))))],
      [`publish, ${BATCH} events a send (kafkajs)`, await perEvent(SENDS, () => publisher.publish(topic, events))],
    ];
    // the other end: a plain kafkajs consumer taking back what was published (decoding only, as the
    // audit-service's consumer does before its own parse and INSERT)
    const published = (SENDS + 3) * BATCH;
    const consumer = new Kafka({ ...kafkaClientConfig(settings), logLevel: logLevel.NOTHING }).consumer({ groupId: `${topic}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let read = 0;
    let c0;
    await new Promise((resolve, reject) => {
      consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => {
        c0 ??= process.cpuUsage();
        read += batch.messages.length;
        if (read >= published) resolve();
      } }).catch(reject);
    });
    const c = process.cpuUsage(c0);
    await consumer.disconnect();
    results.push([`consume (kafkajs fetch and decode, ${read} events)`, (c.user + c.system) / read]);
    const bytes = events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0) / events.length;
    console.log(`relay client CPU per event (${BATCH} events a batch, ${bytes.toFixed(0)} bytes an event on average):`);
    for (const [what, us] of results) console.log(`  ${us.toFixed(1).padStart(6)} µs  ${what}`);
  } finally {
    await publisher.onModuleDestroy();
    await pool.end();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

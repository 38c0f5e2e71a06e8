// The outbox relay's client-side CPU per event, part by part, on the stack's own outbox rows,
// the relay's way against the way it was before session 18: taking a batch from PostgreSQL (each
// event's stored text and type, and, as before, the event as jsonb parsed by pg), sizing each event
// (byteLength of the text; before, JSON.stringify + byteLength) and publishing the batch in sends of
// at most 32 KiB, as the relay does, with the services' own CloudEventPublisher (kafkajs, acks=all,
// idempotent) to a scratch topic (deleted at the end): the stored text as it is (publishSerialized),
// and, as before, the parsed events serialized again (publish). Then a plain kafkajs consumer reads
// them back. CPU is this process's (process.cpuUsage), so neighbours on the machine change it little.
//   node bench/relay-cost.cjs [rounds]
const { readFileSync } = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const { Pool } = require(path.join(root, 'node_modules/pg'));
const { Kafka, logLevel } = require(path.join(root, 'node_modules/kafkajs'));
const { CloudEventPublisher } = require(path.join(root, 'dist/libs/kafka/src/cloud-event.publisher.js'));
const { operatorKafkaSettings, kafkaClientConfig } = require(path.join(root, 'dist/libs/kafka/src/kafka-settings.js'));
const stack = JSON.parse(readFileSync(path.join(state, 'stack.json'), 'utf8'));
const ROUNDS = Number(process.argv[2] ?? 40); // a multiple of 4
const BATCH = 1000;
const SEND_BYTES = 32 * 1024; // the relay's maxSendBytes
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
    const takeParsed = () => pool.query({ name: 'bench-take-jsonb', text: 'SELECT id, seq, topic, key, event FROM outbox_event ORDER BY seq DESC LIMIT $1', values: [BATCH] });
    const takeText = () => pool.query({ name: 'bench-take-text', text: "SELECT id, seq, topic, key, event->>'type' AS type, event::text AS json FROM outbox_event ORDER BY seq DESC LIMIT $1", values: [BATCH] });
    const stored = (await takeText()).rows;
    if (stored.length < BATCH) throw new Error(`the outbox holds ${stored.length} events; run bench/authorize first (it needs ${BATCH})`);
    const events = (await takeParsed()).rows.map((r) => r.event);
    // the relay's runs: consecutive events in sends of at most SEND_BYTES
    const inSends = async (items, bytes, send) => {
      let run = [];
      let size = 0;
      for (const [i, item] of items.entries()) {
        if (run.length > 0 && size + bytes[i] > SEND_BYTES) {
          await send(run);
          run = [];
          size = 0;
        }
        run.push(item);
        size += bytes[i];
      }
      if (run.length > 0) await send(run);
    };
    const textBytes = stored.map((r) => Buffer.byteLength(r.json));
    const parsedBytes = events.map((e) => Buffer.byteLength(JSON.stringify(e)));
    const results = [
      ['now     SELECT a batch: event::text and its type', await perEvent(ROUNDS, takeText)],
      ['before  SELECT a batch: event as jsonb (parsed by pg)', await perEvent(ROUNDS, takeParsed)],
      ['now     size each event: byteLength of its text', await perEvent(ROUNDS, () => stored.forEach((r) => Buffer.byteLength(r.json)))],
      ['before  size each event: JSON.stringify + byteLength', await perEvent(ROUNDS, () => events.forEach((e) => Buffer.byteLength(JSON.stringify(e))))],
    ];
    // the sends are the noisiest part (the broker shares the machine): alternate the two ways, keep each one's least
    const sendsNow = () => inSends(stored, textBytes, (run) => publisher.publishSerialized(topic, run));
    const sendsBefore = () => inSends(events, parsedBytes, (run) => publisher.publish(topic, run));
    const least = [Infinity, Infinity];
    for (let i = 0; i < 4; i++) {
      least[0] = Math.min(least[0], await perEvent(ROUNDS / 4, sendsNow));
      least[1] = Math.min(least[1], await perEvent(ROUNDS / 4, sendsBefore));
    }
    results.push(['now     publish in sends of 32 KiB: the stored text as it is', least[0]], ['before  publish in sends of 32 KiB: the events serialized again', least[1]]);
    for (const when of ['now', 'before']) results.push([`${when.padEnd(7)} in all`, results.filter(([what]) => what.startsWith(when)).reduce((sum, [, us]) => sum + us, 0)]);
    // the other end: a plain kafkajs consumer taking back what was published (decoding only, as the
    // audit-service's consumer does before its own parse and INSERT)
    const published = 8 * (ROUNDS / 4 + 3) * BATCH;
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
    const mean = (bytes) => (bytes.reduce((n, b) => n + b, 0) / bytes.length).toFixed(0);
    console.log(`relay client CPU per event (${BATCH} events a batch; an event's text ${mean(textBytes)} bytes on average as stored, ${mean(parsedBytes)} serialized again):`);
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

// The audit event's PostgreSQL cost per answer, side by side: the outbox INSERT (group commit at
// several group sizes), the relay's SELECT + UPDATE published_at (several relay batch sizes) and
// the prune's DELETE, on scratch copies of outbox_event with and without its unique(seq) index,
// with synchronous_commit off (the dev stack) and on (production). CPU is the PostgreSQL backend's
// own (/proc/<pg_backend_pid()>/stat) plus this client's, per event; the scratch tables are
// dropped at the end. Not the whole pipeline (Kafka, the audit-service's ingest): bench/authorize
// and bench/check split those by process. Last, the INSERT's event parameter: a jsonb[] (each event
// escaped into an array literal) against one JSON array zipped in by ROWS FROM (what the outbox does);
// and that INSERT against COPY FROM STDIN (pg-copy-streams) at the group sizes the outbox sees.
//   node bench/outbox-cost.cjs [events] [--only-parameter | --only-copy]
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const root = path.resolve(__dirname, '..');
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const { Client } = require(path.join(root, 'node_modules/pg'));
const stack = JSON.parse(readFileSync(path.join(state, 'stack.json'), 'utf8'));
const N = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 6000);
const onlyParameter = process.argv.includes('--only-parameter');
const onlyCopy = process.argv.includes('--only-copy');
const { from: copyFrom } = require(path.join(root, 'node_modules/pg-copy-streams'));
const { pipeline } = require('node:stream/promises');
const { Readable } = require('node:stream');
const HZ = 100;

const eventJson = () =>
  JSON.stringify({
    specversion: '1.0', id: randomUUID(), type: 'fedgate.authz.decision.v1', source: '/fedgate/authz-service', subject: 'run:superlink/1', time: new Date().toISOString(), datacontenttype: 'application/json',
    data: { decision_id: randomUUID(), flwr_aid: 'alice', relation: 'can_view', object: 'run:superlink/1', allowed: true, endpoint: 'authorize', cached: true, projector_position: '1:10', account: { flwr_aid: 'alice', account_name: 'alice' }, access_token_hash: 'a'.repeat(64), client_id: 'superlink', origin: { client_id: 'superlink', source_ip: '127.0.0.1' } },
  });
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};

async function measure(db, backend, fn) {
  const b0 = ticks(backend);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { backendMs: ((ticks(backend) - b0) / HZ) * 1000, clientMs: (c.user + c.system) / 1000, wall };
}

/** The group INSERT with the events as a jsonb[] parameter and as one JSON array, three rounds each at groups 1 and 16. */
async function compareEventParameter(db, pid, table) {
  const forms = {
    'jsonb[]': { text: `INSERT INTO ${table} (id, topic, key, event) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`, events: (strings) => strings },
    'one JSON array': {
      text: `INSERT INTO ${table} (id, topic, key, event) SELECT * FROM ROWS FROM (unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[]), jsonb_array_elements($4::jsonb))`,
      events: (strings) => `[${strings.join(',')}]`,
    },
  };
  console.log('# the event parameter of the group INSERT (prepared, synchronous_commit off)');
  for (let round = 0; round < 3; round++) {
    for (const group of [1, 16]) {
      for (const [label, form] of Object.entries(forms)) {
        const events = Array.from({ length: N }, () => JSON.parse(eventJson()));
        const ins = await measure(db, pid, async () => {
          for (let i = 0; i < N; i += group) {
            const part = events.slice(i, i + group);
            const values = [part.map((e) => e.id), part.map(() => 'fedgate.authz.decisions'), part.map(() => 'run:superlink/1'), form.events(part.map((e) => JSON.stringify(e)))];
            await db.query({ name: `param-${label}`, text: form.text, values });
          }
        });
        // the same rows either way: each event in the row of its own id
        const { rows: [check] } = await db.query(`SELECT count(*)::int AS n, bool_and(event->>'id' = id::text) AS aligned FROM ${table}`);
        if (check.n !== N || !check.aligned) throw new Error(`${label}: ${check.n} rows, aligned ${check.aligned}`);
        await db.query(`TRUNCATE ${table}`);
        console.log(`round ${round + 1} group ${String(group).padStart(2)} ${label.padEnd(14)}: ${(((ins.backendMs + ins.clientMs) * 1000) / N).toFixed(0).padStart(4)} µs per event (pg ${((ins.backendMs * 1000) / N).toFixed(0).padStart(3)}, client ${((ins.clientMs * 1000) / N).toFixed(0).padStart(3)})`);
      }
    }
  }
}

/**
 * The outbox's group INSERT (prepared, the events as one JSON array) against COPY FROM STDIN (text
 * format: one line per row, the JSON's backslashes doubled) at groups of 1, 3 (1,000 answers/s with
 * the 2 ms interval), 16 and 128 (closed loops), three rounds, synchronous_commit off.
 */
async function compareCopy(db, pid, table) {
  const insert = `INSERT INTO ${table} (id, topic, key, event) SELECT * FROM ROWS FROM (unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[]), jsonb_array_elements($4::jsonb))`;
  const ways = {
    'INSERT (prepared)': (part) => db.query({ name: 'copy-cmp-insert', text: insert, values: [part.map((e) => e.id), part.map(() => 'fedgate.authz.decisions'), part.map(() => 'run:superlink/1'), JSON.stringify(part)] }),
    'COPY FROM STDIN': (part) =>
      pipeline(
        Readable.from([part.map((e) => `${e.id}\tfedgate.authz.decisions\trun:superlink/1\t${JSON.stringify(e).replaceAll('\\', '\\\\')}\n`).join('')]),
        db.query(copyFrom(`COPY ${table} (id, topic, key, event) FROM STDIN`)),
      ),
  };
  console.log('# the group INSERT against COPY (synchronous_commit off)');
  for (let round = 0; round < 3; round++) {
    for (const group of [1, 3, 16, 128]) {
      for (const [label, write] of Object.entries(ways)) {
        const events = Array.from({ length: N }, () => JSON.parse(eventJson()));
        const ins = await measure(db, pid, async () => {
          for (let i = 0; i < N; i += group) await write(events.slice(i, i + group));
        });
        const { rows: [check] } = await db.query(`SELECT count(*)::int AS n, bool_and(event->>'id' = id::text) AS aligned, bool_and(event = $1::jsonb OR event->>'id' <> $2) AS same FROM ${table}`, [JSON.stringify(events[0]), events[0].id]);
        if (check.n !== N || !check.aligned || !check.same) throw new Error(`${label}: ${check.n} rows, aligned ${check.aligned}, first event intact ${check.same}`);
        await db.query(`TRUNCATE ${table}`);
        console.log(`round ${round + 1} group ${String(group).padStart(3)} ${label.padEnd(18)}: ${(((ins.backendMs + ins.clientMs) * 1000) / N).toFixed(0).padStart(4)} µs per event (pg ${((ins.backendMs * 1000) / N).toFixed(0).padStart(3)}, client ${((ins.clientMs * 1000) / N).toFixed(0).padStart(3)}), ${((ins.wall * 1000) / N).toFixed(0).padStart(4)} µs wall`);
      }
    }
  }
}

(async () => {
  const db = new Client({ connectionString: stack.postgres.url });
  await db.connect();
  const { rows: [{ pid }] } = await db.query('SELECT pg_backend_pid() AS pid');
  const tables = { 'as is (3 indexes)': 'bench_outbox_a', 'without unique(seq) (2 indexes)': 'bench_outbox_b' };
  try {
    await db.query('DROP TABLE IF EXISTS bench_outbox_a, bench_outbox_b');
    await db.query('CREATE TABLE bench_outbox_a (LIKE outbox_event INCLUDING DEFAULTS INCLUDING INDEXES)');
    await db.query('CREATE TABLE bench_outbox_b (LIKE outbox_event INCLUDING DEFAULTS INCLUDING INDEXES)');
    const { rows: idx } = await db.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'bench_outbox_b' AND indexdef LIKE '%UNIQUE%(seq)%'`);
    for (const { indexname } of idx) await db.query(`DROP INDEX ${indexname}`);
    console.log(`# outbox cost per event, ${N} events per cell; PostgreSQL backend CPU + this client's CPU (µs per event); wall ms per event`);
    for (const sync of onlyParameter || onlyCopy ? [] : ['off', 'on']) {
      await db.query(`SET synchronous_commit = ${sync}`);
      for (const [label, table] of Object.entries(tables)) {
        for (const [group, prepared] of [[1, false], [1, true], [16, false], [16, true], [128, false]]) {
          const events = Array.from({ length: N }, eventJson);
          // prepared: a named statement, parsed and planned once per connection instead of per INSERT
          const text = `INSERT INTO ${table} (id, topic, key, event) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`;
          const ins = await measure(db, pid, async () => {
            for (let i = 0; i < N; i += group) {
              const part = events.slice(i, i + group);
              const values = [part.map((e) => JSON.parse(e).id), part.map(() => 'fedgate.authz.decisions'), part.map(() => 'run:superlink/1'), part];
              await db.query(prepared ? { name: `ins-${table}`, text, values } : { text, values });
            }
          });
          const relayBatch = group === 1 ? 100 : group === 16 ? 500 : 2000;
          const rel = await measure(db, pid, async () => {
            for (;;) {
              await db.query('BEGIN');
              const { rows } = await db.query(`SELECT id, seq, topic, key, event FROM ${table} WHERE published_at IS NULL AND topic = ANY($2::text[]) ORDER BY seq LIMIT $1`, [relayBatch, ['fedgate.authz.decisions']]);
              if (rows.length) await db.query(`UPDATE ${table} SET published_at = statement_timestamp() WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
              await db.query('COMMIT');
              if (rows.length < relayBatch) break;
            }
          });
          const pru = await measure(db, pid, () => db.query(`DELETE FROM ${table} WHERE published_at IS NOT NULL`));
          const us = (x) => `${((x.backendMs + x.clientMs) * 1000 / N).toFixed(0).padStart(4)} µs (pg ${((x.backendMs * 1000) / N).toFixed(0).padStart(3)})`;
          console.log(`sync ${sync.padEnd(3)} ${label.padEnd(32)} group ${String(group).padStart(3)}${prepared ? ' prepared' : '         '}: insert ${us(ins)} ${(ins.wall / N).toFixed(3)} ms | relay batch ${String(relayBatch).padStart(4)}: ${us(rel)} | prune ${us(pru)}`);
        }
      }
    }
    await db.query('SET synchronous_commit = off');
    if (!onlyCopy) await compareEventParameter(db, pid, 'bench_outbox_a');
    if (!onlyParameter) await compareCopy(db, pid, 'bench_outbox_a');
  } finally {
    await db.query('DROP TABLE IF EXISTS bench_outbox_a, bench_outbox_b');
    await db.end();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

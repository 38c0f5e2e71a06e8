// How long a run registration takes to become visible, with and without load: each of --count
// runs is registered (POST /v1/runs, as `flwr run` does through the SuperLink), then checked with
// the write's consistency_token until allowed (a check waits for its write up to
// FEDGATE_AUTHZ_CONSISTENCY_WAIT_MS, then answers consistency_timeout and is asked again). The
// time from the write's answer to the allowed check is the write's path through the outbox, its
// relay, Kafka and the projector to OpenFGA. With --load, bench/authorize's cached open loop
// (--rate req/s) runs beside it the whole time, as the SuperLink's authorizations would.
// Not a test and no target: it prints the figures, for bench/README.md.
//   node bench/consistency.mjs [--count 40] [--gap-ms 150] [--load true] [--rate 1000]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './cli.mjs';
import { jsonClient } from './http-pool.mjs';
import { pct } from './loops.mjs';
import { checkOnceApplied, newRunId } from './runs.mjs';
import { builtLibraries, idpKeys, signTokens, tokenShape } from './tokens.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STATE = process.env.FEDGATE_STATE_DIR ?? path.join(ROOT, '.fedgate');
const opts = parseArgs(process.argv.slice(2), { count: '40', 'gap-ms': '150', load: 'true', rate: '1000' }, import.meta.url);
const stack = JSON.parse(readFileSync(path.join(STATE, 'stack.json'), 'utf8'));
const ca = readFileSync(stack.ca_cert);
const count = Number(opts.count);

const fedgate = jsonClient(stack.services.authz, { 'x-fedgate-key': stack.api_key }, 4, ca);
const owner = `consistency-owner-${Date.now().toString(36)}${process.pid}`;
const { currentKid, privateJwk } = await idpKeys(stack, STATE, ca);
const shape = await tokenShape(stack, currentKid, { testing: builtLibraries(ROOT, 'authz-service').tryRequire('@fedgate/testing'), note: () => undefined });
const [token] = await signTokens(privateJwk, { header: shape.header, claims: { ...shape.claims, sub: owner, preferred_username: owner, name: owner, email: `${owner}@example.test` } }, 1, 600);

// the load: bench/authorize's cached open loop, long enough to cover every registration
let load;
if (opts.load === 'true') {
  const seconds = Math.ceil((count * (Number(opts['gap-ms']) + 500)) / 1000) + 10;
  load = spawn(process.execPath, [path.join(ROOT, 'bench/authorize.mjs'), '--phases', 'rate-cached', '--runs', '5', '--rate', opts.rate, '--rate-seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  load.stdout.on('data', (chunk) => (out += chunk));
  load.done = new Promise((resolve) => load.on('exit', () => resolve(out)));
  // its open loop starts right after the settle line; give it a second to reach its rate
  while (!/^settle/m.test(out)) {
    if (load.exitCode !== null) throw new Error(`bench/authorize ended before its open loop:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
}

const writes = [];
const visible = [];
let timeouts = 0;
for (let i = 0; i < count; i++) {
  const runId = newRunId(i);
  const t0 = performance.now();
  const reg = await fedgate.call('POST', '/v1/runs', { run_id: runId, access_token: token });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const t1 = performance.now();
  const { check, timeouts: timedOut } = await checkOnceApplied(fedgate, { owner, runId, consistency: reg.body.consistency_token, attempts: 12 });
  timeouts += timedOut;
  if (check.status !== 200 || check.body.allowed !== true) throw new Error(`check: ${check.status} ${JSON.stringify(check.body)}`);
  writes.push(t1 - t0);
  visible.push(performance.now() - t1);
  await new Promise((r) => setTimeout(r, Number(opts['gap-ms'])));
}
const sorted = (xs) => Float64Array.from(xs).sort();
const [w, v] = [sorted(writes), sorted(visible)];
const ms = (x) => `${x.toFixed(0)} ms`;
console.log(
  `${count} runs registered${load ? ` beside ${opts.rate} cached authorizations/s` : ' on an otherwise idle stack'}: ` +
    `the write answered in p50 ${ms(pct(w, 0.5))}; write → visible to a check: p50 ${ms(pct(v, 0.5))}, p90 ${ms(pct(v, 0.9))}, max ${ms(v[v.length - 1])}; ` +
    `over 500 ms: ${v.filter((x) => x > 500).length}; checks answered consistency_timeout: ${timeouts}`,
);
if (load) {
  const out = await load.done;
  console.log(`the load: ${(/^rate .*$/m.exec(out) ?? ['(no open loop line)'])[0].replace(/\s+/g, ' ')}`);
}
process.exit(0);

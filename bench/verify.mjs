#!/usr/bin/env node
// Benchmark (not a test) of the token-service's POST /v1/verify against the running local stack.
//
//   bench/verify [--url https://127.0.0.1:17002] [--server-pid PID] [--concurrency 32]
//                [--seconds 8] [--distinct-tokens 20000] [--repeated-seconds 5]
//                [--rate 1000] [--rate-seconds 10] [--baseline-seconds 3] [--lifetime-seconds 600]
//                [--no-login] [--phases baseline,distinct,repeated,rate]
//
// Prints: the in-process jose jwtVerify rate over the same tokens with the same key and options as
// the service (for reference); the service's throughput and p50/p99 over HTTPS with keep-alive and
// distinct tokens (every token used once), then with one repeated token (cache path); latency at a
// fixed open-loop rate (measured from each request's scheduled send time, so a stalled server is
// not hidden by coordinated omission); the targets with PASS/FAIL, each beside its same-run limit:
// distinct ≥ 0.5 × the bare verifier (bench/bare-verifier.mjs: a do-nothing HTTPS server running
// jose jwtVerify per request, same tokens and client), repeated ≥ 0.25 × the ceiling (the do-nothing
// server alone), p99 ≤ 10 ms at 1,000 req/s. Exit 0 = all targets pass, 2 = not.
// --url/--server-pid: another token-service instance (bench/instance.sh); --no-login: do not copy
// the claims of a real token from a device login; --no-calibrate: skip the `ceiling` line (the
// closed loop against a do-nothing HTTPS server, which bounds the ratio targets) and the `floor`
// line (the rate phase against it); --phases: run only some phases (for profiling).
import { Pool, send, withAuditedServer, withBareVerifier, withNullServer } from './http-pool.mjs';
import { cpuByPart, cpuSplit, machineTicks, outboxBacklog, settle, settleLine } from './machine.mjs';
import { auditedVerdict, drainedLoop, prefixed, throughputBudget, unsettledNote } from './loops.mjs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { builtLibraries, idpKeys, signTokens, tokenShape, verifyOptionsOf } from './tokens.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STATE = process.env.FEDGATE_STATE_DIR ?? path.join(ROOT, '.fedgate');
// re-based on same-run limits (issue 19): the bare verifier (a do-nothing HTTPS server running jose
// jwtVerify per request, same client) and the ceiling (the do-nothing server alone)
const TARGETS = { distinctOfBare: 0.5, repeatedOfCeiling: 0.25, p99Ms: 10, rate: 1000 };

// ---- options -----------------------------------------------------------------------------------

const args = parseArgs(process.argv.slice(2), {
  url: '',
  'server-pid': '',
  concurrency: '32',
  seconds: '8',
  'distinct-tokens': '20000',
  'repeated-seconds': '5',
  rate: String(TARGETS.rate),
  'rate-seconds': '10',
  'baseline-seconds': '3',
  'lifetime-seconds': '600',
  login: 'true',
  calibrate: 'true',
  phases: 'baseline,distinct,repeated,rate',
});
const stack = JSON.parse(readFileSync(path.join(STATE, 'stack.json'), 'utf8'));
const serviceUrl = new URL(args.url || stack.services.token);
const concurrency = int(args.concurrency);
const seconds = Number(args.seconds);
const rate = Number(args.rate);
const rateSeconds = Number(args['rate-seconds']);
const baselineSeconds = Number(args['baseline-seconds']);
const ca = readFileSync(stack.ca_cert);
const startedAt = performance.now();
const phases = new Set(args.phases.split(','));
for (const p of phases) if (!['baseline', 'distinct', 'repeated', 'rate'].includes(p)) throw new Error(`unknown phase ${p}`);

// the same rules as the service (libs/token-verification), taken from the built library when present
const { require, tryRequire, verification: lib, algorithms: ALGORITHMS, clockTolerance: CLOCK_TOLERANCE } = builtLibraries(ROOT, 'token-service');

main().catch((err) => {
  console.error(`bench/verify: ${err.stack ?? err}`);
  process.exit(1);
});

async function main() {
  const serverPid = args['server-pid'] ? int(args['server-pid']) : defaultServerPid();
  const wholeRun = startUsage(null);
  const isStack = serviceUrl.origin === new URL(stack.services.token).origin;
  line(`# bench/verify — token-service ${serviceUrl.origin} (pid ${serverPid ?? 'unknown'}; ${isStack ? "the stack's instance: audit of successes on, the default" : 'an instance of your own: audit as configured there'})`);
  line(`machine: nproc ${os.availableParallelism()} (${os.cpus()[0]?.model.trim()}), node ${process.version}, jose ${require('jose/package.json').version}, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  // ---- 1. tokens ------------------------------------------------------------------------------
  const { jwks: idpJwks, currentKid, privateJwk } = await idpKeys(stack, STATE, ca);
  const shape = await tokenShape(stack, currentKid, { login: args.login === 'true', testing: tryRequire('@fedgate/testing'), note: line });
  line(`token shape: ${shape.source}; header ${JSON.stringify(shape.header)}; claims ${Object.keys(shape.claims).join(',')}`);

  const distinctCount = phases.has('distinct') ? int(args['distinct-tokens']) : phases.has('baseline') ? 2000 : 1;
  const warmCount = phases.has('distinct') || phases.has('repeated') ? Math.max(500, concurrency * 20) : 0;
  const rateCount = phases.has('rate') ? Math.ceil(rate * rateSeconds) : 0;
  const rateWarmCount = phases.has('rate') ? Math.ceil(rate * 1) : 0;
  const total = distinctCount + warmCount + rateCount + rateWarmCount + 1;
  let t = performance.now();
  const all = await signTokens(privateJwk, shape, total, int(args['lifetime-seconds']));
  const signSeconds = (performance.now() - t) / 1000;
  const [distinct, warm, atRate, rateWarm, [repeated]] = split(all, [distinctCount, warmCount, rateCount, rateWarmCount, 1]);
  line(`signed ${total} distinct tokens (${all[0].length} chars, kid ${currentKid}) in ${signSeconds.toFixed(1)} s with ${os.availableParallelism()} workers`);

  const agent = new Pool(serviceUrl, 256, { ca });
  const check = await postVerify(agent, distinct[distinct.length - 1], true);
  if (check.status !== 200 || check.body?.active !== true) {
    throw new Error(`a bench token does not verify at the service: ${check.status} ${JSON.stringify(check.body)}`);
  }
  line(`check: a bench token verifies at the service → 200 ${JSON.stringify(check.body)}`);
  // that one is now cached at the service; it is not used again
  distinct.pop();

  // ---- 2. baseline: in-process jose jwtVerify, same tokens, key and options ------------------
  const jwks = createLocalJWKSet(idpJwks);
  const verifyOptions = () => ({ ...verifyOptionsOf(stack, ALGORITHMS, CLOCK_TOLERANCE), currentDate: new Date() });
  const joseOnce = async (i) => {
    const { payload } = await jwtVerify(distinct[i % distinct.length], jwks, verifyOptions());
    if (payload.sub !== shape.claims.sub) throw new Error('unexpected sub');
  };
  const skipped = { rate: NaN, p50: NaN, p99: NaN, max: NaN, errors: 0, skipped: true };
  const seq = phases.has('baseline') ? await inProcessRate(joseOnce, 1, baselineSeconds) : skipped;
  const conc = phases.has('baseline') ? await inProcessRate(joseOnce, concurrency, baselineSeconds) : skipped;
  const baseline = Math.max(seq.rate, conc.rate);
  line('');
  if (phases.has('baseline')) {
    const mark = (x) => (x.rate === baseline ? '  ← the baseline (the higher of the two)' : '');
    line(`baseline  in-process jose jwtVerify (createLocalJWKSet, RS256, same options), 1 process:`);
    line(`          sequential (1 in flight):   ${fmtRate(seq.rate)} ops/s  (${(1000 / seq.rate).toFixed(3)} ms/op, ${seq.cpu}% CPU)${mark(seq)}`);
    line(`          concurrent (${concurrency} in flight): ${fmtRate(conc.rate)} ops/s  (${conc.cpu}% CPU)${mark(conc)}`);
  }
  if (phases.has('baseline') && lib && process.env.NODE_EXTRA_CA_CERTS) {
    // for the analysis: what the service's own verifier costs in process, without HTTP
    const verifier = new lib.TokenVerifier({ issuer: stack.idp.issuer, audience: stack.idp.audience, clockToleranceSeconds: CLOCK_TOLERANCE });
    await verifier.warmUp();
    const caching = new lib.CachingTokenVerifier({ verifier });
    const libRate = await inProcessRate((i) => verifier.verify(distinct[i % distinct.length]), concurrency, Math.min(2, baselineSeconds));
    await caching.verify(repeated);
    const cacheRate = await inProcessRate(() => caching.verify(repeated), concurrency, Math.min(2, baselineSeconds));
    line(`info      in-process TokenVerifier.verify (distinct, ${concurrency} in flight):     ${fmtRate(libRate.rate)} ops/s`);
    line(`info      in-process CachingTokenVerifier.verify (one token, ${concurrency} in flight): ${fmtRate(cacheRate.rate)} ops/s`);
  }

  // ---- 3. service throughput, closed loop ----------------------------------------------------
  line('');
  if (warm.length) {
    await agent.prewarm(concurrency);
    await closedLoop(agent, warm, concurrency, 60, null); // JIT, connections
  }
  // each phase starts on an empty outbox and its cost split carries its own events' pipeline work (drainedLoop)
  const backlog = outboxBacklog(stack.postgres.url);
  const d = phases.has('distinct') ? await drainedLoop(() => closedLoop(agent, distinct, concurrency, seconds, serverPid), backlog.pending) : skipped;
  if (!d.skipped) printRun(`distinct  HTTPS keep-alive, ${concurrency} in flight, every token once`, d);
  if (!d.skipped && d.exhausted && d.elapsed < 3) line(`          note: the tokens ran out after ${d.elapsed.toFixed(1)} s; use --distinct-tokens ${Math.ceil(d.rate * seconds)} for a ${seconds} s phase`);
  const repeatedRequest = verifyRequest(repeated);
  const repeatList = { length: Infinity, at: () => repeatedRequest };
  if (phases.has('repeated')) await postVerify(agent, repeated); // cached from now on: every measured request is a hit
  const r = phases.has('repeated') ? await drainedLoop(() => closedLoop(agent, repeatList, concurrency, Number(args['repeated-seconds']), serverPid), backlog.pending) : skipped;
  if (!r.skipped) printRun(`repeated  HTTPS keep-alive, ${concurrency} in flight, one token (cache hit)`, r);

  // ---- 3b. the HTTPS ceiling: the same closed loop against a server that does nothing ---------
  // No service can answer faster than this with this client on this machine; with the CPU the
  // baseline's signature checks need, it bounds what the ratio targets can reach here.
  let ceiling;
  if ((phases.has('distinct') || phases.has('repeated')) && args.calibrate === 'true') {
    ceiling = await withNullServer({ ca, maxSockets: 256 }, async (nullPool, { pid }) => {
      await nullPool.prewarm(concurrency);
      await closedLoop(nullPool, repeatList, concurrency, 1, null);
      return closedLoop(nullPool, repeatList, concurrency, Number(args['repeated-seconds']), pid);
    });
    printRun(`ceiling   a do-nothing HTTPS server (bench/null-server.mjs), same client, ${concurrency} in flight`, ceiling, 'null server');
  }
  // the distinct target's limit: the same server plus one jose jwtVerify per request (service's options)
  let bare;
  if (phases.has('distinct') && args.calibrate === 'true') {
    bare = await withBareVerifier({ jwks: idpJwks, options: verifyOptionsOf(stack, ALGORITHMS, CLOCK_TOLERANCE) }, { ca, maxSockets: 256 }, async (verifierPool, { pid }) => {
      await verifierPool.prewarm(concurrency);
      await closedLoop(verifierPool, warm, concurrency, 1, null);
      return closedLoop(verifierPool, distinct, concurrency, seconds, pid);
    });
    printRun(`bare      a do-nothing HTTPS server + jose jwtVerify per request (bench/bare-verifier.mjs), the same distinct tokens`, bare, 'bare verifier');
  }

  // ---- 4. fixed rate, open loop --------------------------------------------------------------
  // The phases before leave a backlog (outbox relay, the audit-service ingesting every event):
  // measuring the floor or the rate while the machine digests it would measure the backlog.
  if (phases.has('rate')) {
    const settled = await settle({ pending: backlog.pending });
    line(settleLine(settled, ' after the earlier phases'));
  }
  let floor;
  let audited;
  if (phases.has('rate') && args.calibrate === 'true') {
    // the same open loop against a do-nothing HTTPS server: the p99 this machine and this client
    // reach with no service at all (the noise floor under the p99 target)
    floor = await withNullServer({ ca, maxSockets: 256 }, async (nullPool, { pid }) => {
      await openLoop(nullPool, rateWarm, rate, null);
      return openLoop(nullPool, atRate, rate, pid);
    });
    line(`floor     the same open loop against a do-nothing HTTPS server (bench/null-server.mjs): p50 ${ms(floor.p50)} p99 ${ms(floor.p99)} max ${ms(floor.max)}; bench send lag p99 ${ms(floor.lag99)}; ${cpuText(floor, 'null server')}`);
    // the same server keeping the audit guarantee: each answer's verification event durable before it
    const verified = { account: check.body.account, access_token_hash: createHash('sha256').update(atRate[0]).digest('hex'), scope: check.body.scope ?? '', expires_at: check.body.expires_at, method: 'jwt', cached: false, origin: { client_id: stack.service_name, source_ip: '127.0.0.1' } };
    audited = await withAuditedServer({ databaseUrl: stack.postgres.url, type: 'fedgate.token.verified.v1', data: verified }, { ca, maxSockets: 256 }, async (auditedPool, { pid }) => {
      await openLoop(auditedPool, rateWarm, rate, null);
      await settle({ pending: backlog.pending }); // the warm-up's events through the pipeline first
      return openLoop(auditedPool, atRate, rate, pid);
    });
    line(`audited   the same open loop against that server writing each answer's audit event through the outbox (bench/audited-server.mjs), the stack's pipeline carrying them: p50 ${ms(audited.p50)} p99 ${ms(audited.p99)} max ${ms(audited.max)}, errors ${audited.errors}${fmtErrors(audited)}; bench send lag p99 ${ms(audited.lag99)}; ${cpuText(audited, 'audited server')}`);
    await settle({ pending: backlog.pending });
  }
  if (phases.has('rate')) {
    await openLoop(agent, rateWarm, rate, null);
    await agent.prewarm(16);
  }
  const o = phases.has('rate') ? await openLoop(agent, atRate, rate, serverPid) : skipped;
  if (!o.skipped) line(
    `rate      open loop at ${rate} req/s for ${rateSeconds} s, distinct tokens: sent ${o.sent} in ${o.sendSeconds.toFixed(2)} s, answered at ${o.answeredRate.toFixed(0)} req/s,\n          ` +
      `p50 ${ms(o.p50)} p99 ${ms(o.p99)} p99.9 ${ms(o.p999)} max ${ms(o.max)} (from scheduled send time)` +
      `\n          from dispatch (incl. waiting for a free connection): p50 ${ms(o.s50)} p99 ${ms(o.s99)}; the bench's send lag behind schedule (negative = early; late sends are included above): p50 ${ms(o.lag50)} p99 ${ms(o.lag99)}; ` +
      `errors ${o.errors}${fmtErrors(o)}, max in flight ${o.maxInFlight}, ${cpuText(o)}`,
  );

  // ---- 5. verdict ----------------------------------------------------------------------------
  const dNeed = bare ? TARGETS.distinctOfBare * bare.rate : NaN;
  const rNeed = ceiling ? TARGETS.repeatedOfCeiling * ceiling.rate : NaN;
  const verdicts = [
    [`distinct ≥ ${TARGETS.distinctOfBare} × bare verifier`, `${d.rate.toFixed(0)} req/s; limit ${TARGETS.distinctOfBare} × ${bare?.rate.toFixed(0)} = ${dNeed.toFixed(0)} req/s (${(d.rate / bare?.rate).toFixed(3)} ×)`, d.rate >= dNeed && d.errors === 0, ` (in-process jose: ${fmtRate(baseline).trim()}/s)${budget(d, dNeed, bare)}`],
    [`repeated ≥ ${TARGETS.repeatedOfCeiling} × ceiling`, `${r.rate.toFixed(0)} req/s; limit ${TARGETS.repeatedOfCeiling} × ${ceiling?.rate.toFixed(0)} = ${rNeed.toFixed(0)} req/s (${(r.rate / ceiling?.rate).toFixed(3)} ×)`, r.rate >= rNeed && r.errors === 0, budget(r, rNeed, ceiling)],
    [`p99 ≤ ${TARGETS.p99Ms} ms at ${rate} req/s`, `p99 ${ms(o.p99)}; limit ${TARGETS.p99Ms} ms`, o.p99 <= TARGETS.p99Ms && o.errors === 0 && rate >= TARGETS.rate, floor ? ` (a do-nothing HTTPS server in the same loop: p99 ${ms(floor.p99)}${floor.p99 > TARGETS.p99Ms ? ' — out of reach here now: the do-nothing server alone misses it' : ''}; writing each answer's audit event: p99 ${ms(audited.p99)}${prefixed(' — ', auditedVerdict(audited, floor, TARGETS.p99Ms, o.p99 <= TARGETS.p99Ms && o.errors === 0))})` : ''],
  ];
  // the CPU budget of each throughput target, the audit pipeline's share included (bench/loops.mjs)
  function budget(phase, needed, limit) {
    if (!limit) return '';
    return throughputBudget({ phase, needed, limit, limitName: limit === bare ? 'the bare verifier' : 'the ceiling', service: 'token-service', cores: os.availableParallelism() * 100 });
  }
  line('');
  line('targets (nproc ' + os.availableParallelism() + '):');
  for (const [name, value, pass, note] of verdicts) line(`  ${value.includes('NaN') ? 'SKIP' : pass ? 'PASS' : 'FAIL'}  ${name.padEnd(30)} ${value}${note}`);
  const passed = verdicts.filter((v) => v[2]).length;
  const whole = wholeRun.stop((performance.now() - startedAt) / 1000);
  line('');
  line(
    `summary: in-process jose ${fmtRate(baseline).trim()}/s | bare ${bare?.rate.toFixed(0)}/s | ceiling ${ceiling?.rate.toFixed(0)}/s | distinct ${fmtRate(d.rate).trim()}/s p99 ${ms(d.p99)} (${(d.rate / bare?.rate).toFixed(2)}× bare) | repeated ${fmtRate(r.rate).trim()}/s p99 ${ms(r.p99)} (${(r.rate / ceiling?.rate).toFixed(2)}× ceiling) | ` +
      `${rate}/s p99 ${ms(o.p99)} | errors ${d.errors + r.errors + o.errors} | ${passed}/3 targets pass | nproc ${os.availableParallelism()} node ${process.version} | CPU steal ${whole.steal ?? '?'}% | ${((performance.now() - startedAt) / 1000).toFixed(0)} s`,
  );
  agent.close();
  await backlog.close();
  process.exitCode = passed === 3 ? 0 : 2;
}

// ---- tokens -------------------------------------------------------------------------------------

// ---- in process ---------------------------------------------------------------------------------

async function inProcessRate(op, inFlight, secondsToRun) {
  let i = 0;
  const runFor = async (ms) => {
    const end = performance.now() + ms;
    let done = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          await op(i++);
          done++;
        }
      }),
    );
    return done;
  };
  await runFor(500);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const done = await runFor(secondsToRun * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: done / elapsed, cpu: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100) };
}

// ---- HTTP ---------------------------------------------------------------------------------------

const requestHead = (length) =>
  `POST /v1/verify HTTP/1.1\r\nHost: ${serviceUrl.host}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nx-fedgate-key: ${stack.api_key}\r\n\r\n`;

/** The whole request for a token, built once (before a phase: no allocation while measuring). */
function verifyRequest(token) {
  const body = `{"access_token":"${token}"}`;
  return Buffer.from(requestHead(Buffer.byteLength(body)) + body);
}

function postVerify(pool, tokenOrRequest, keepBody = false) {
  return send(pool, typeof tokenOrRequest === 'string' ? verifyRequest(tokenOrRequest) : tokenOrRequest, keepBody);
}

/** `inFlight` loops, each sending the next unused token until the time or the tokens run out. */
async function closedLoop(agent, tokens, inFlight, secondsToRun, serverPid) {
  const prebuilt = Array.isArray(tokens) ? tokens.map(verifyRequest) : null;
  const at = prebuilt ? (i) => prebuilt[i] : tokens.at;
  const latencies = new Float64Array(Math.min(tokens.length, 5_000_000));
  const statuses = new Map();
  let next = 0;
  let n = 0;
  const usage = startUsage(serverPid);
  const t0 = performance.now();
  const end = t0 + secondsToRun * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end && next < tokens.length) {
        const token = at(next++);
        const s = performance.now();
        const { status } = await postVerify(agent, token);
        latencies[n++] = performance.now() - s;
        if (status !== 200) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const sorted = latencies.subarray(0, n).sort();
  return {
    requests: n,
    elapsed,
    rate: n / elapsed,
    exhausted: next >= tokens.length,
    p50: pct(sorted, 0.5),
    p99: pct(sorted, 0.99),
    max: sorted[n - 1],
    errors: [...statuses.values()].reduce((a, b) => a + b, 0),
    statuses,
    ...usage.stop(elapsed),
  };
}

/** Requests scheduled every 1/rate s whatever the answers do; latency counted from the schedule. */
// setTimeout wakes ~1 ms late on average; waking up to 1 ms early keeps the sends on schedule.
const EARLY_MS = 1;
async function openLoop(agent, tokens, perSecond, serverPid) {
  const interval = 1000 / perSecond;
  const count = tokens.length;
  const requests = tokens.map(verifyRequest);
  const fromSchedule = new Float64Array(count);
  const service = new Float64Array(count);
  const lag = new Float64Array(count);
  const statuses = new Map();
  let sent = 0;
  let done = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastSend = 0;
  let lastAnswer = 0;
  const usage = startUsage(serverPid);
  const t0 = performance.now() + 5;
  await new Promise((resolveAll) => {
    const send = (i) => {
      const scheduled = t0 + i * interval;
      const actual = performance.now();
      lag[i] = actual - scheduled;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      postVerify(agent, requests[i]).then(({ status }) => {
        const now = performance.now();
        // late sends count from the schedule (coordinated omission); a send up to EARLY_MS early
        // counts from the actual send, so it never looks faster than its real round trip
        fromSchedule[i] = now - Math.min(scheduled, actual);
        service[i] = now - actual;
        inFlight--;
        if (status !== 200) statuses.set(status, (statuses.get(status) ?? 0) + 1);
        lastAnswer = now;
        if (++done === count) {
          clearTimeout(deadline);
          resolveAll();
        }
      });
    };
    // bounded: answers still missing 30 s after the last send count as errors
    const deadline = setTimeout(() => {
      for (let i = 0; i < sent; i++) if (fromSchedule[i] === 0) { fromSchedule[i] = Infinity; service[i] = Infinity; statuses.set('no answer', (statuses.get('no answer') ?? 0) + 1); }
      resolveAll();
    }, (count / perSecond) * 1000 + 30_000);
    const tick = () => {
      const now = performance.now();
      while (sent < count && t0 + sent * interval <= now + EARLY_MS) send(sent++);
      lastSend = now;
      if (sent < count) setTimeout(tick, Math.max(0, t0 + sent * interval - EARLY_MS - performance.now()));
    };
    setTimeout(tick, 5);
  });
  const elapsed = (performance.now() - t0) / 1000;
  const a = fromSchedule.sort();
  const s = service.sort();
  const l = lag.sort();
  return {
    lag50: pct(l, 0.5),
    lag99: pct(l, 0.99),
    sent,
    sendSeconds: (lastSend - t0) / 1000,
    answeredRate: done / ((lastAnswer - t0) / 1000),
    p50: pct(a, 0.5),
    p99: pct(a, 0.99),
    p999: pct(a, 0.999),
    max: a[count - 1],
    s50: pct(s, 0.5),
    s99: pct(s, 0.99),
    errors: [...statuses.values()].reduce((x, y) => x + y, 0),
    statuses,
    maxInFlight,
    ...usage.stop(elapsed),
  };
}

// ---- CPU accounting: this process, the token-service process, the whole machine -----------------

function startUsage(serverPid) {
  const self0 = process.cpuUsage();
  const server0 = procTicks(serverPid);
  const machine0 = machineTicks();
  const parts0 = cpuByPart();
  return {
    stop(elapsed) {
      const self = process.cpuUsage(self0);
      const server1 = procTicks(serverPid);
      const machine1 = machineTicks();
      const hz = 100; // USER_HZ
      return {
        // by part of the stack (services, PostgreSQL, Kafka, the bench, its limit servers)
        cpu: cpuSplit(parts0, cpuByPart(), elapsed),
        clientCpu: Math.round(((self.user + self.system) / 1e6 / elapsed) * 100),
        serverCpu: server0 === undefined || server1 === undefined ? undefined : Math.round(((server1 - server0) / hz / elapsed) * 100),
        machineBusy: machine0 && machine1 ? Math.round((1 - (machine1.idle - machine0.idle) / (machine1.total - machine0.total)) * 100) : undefined,
        steal: machine0 && machine1 ? Math.round(((machine1.steal - machine0.steal) / (machine1.total - machine0.total)) * 100) : undefined,
      };
    },
  };
}

/** CPU ticks of the process and its children (a service running with FEDGATE_WORKERS > 1 is a cluster). */
function procTicks(pid) {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    let ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) ticks += procTicks(Number(child)) ?? 0;
    return ticks;
  } catch {
    return undefined;
  }
}

function defaultServerPid() {
  if (serviceUrl.origin !== new URL(stack.services.token).origin) return undefined;
  try {
    return int(readFileSync(path.join(STATE, 'run/token-service.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

// ---- helpers ------------------------------------------------------------------------------------


function printRun(title, x, server = 'token-service') {
  line(
    `${title}: ${x.requests} requests in ${x.elapsed.toFixed(2)} s${x.exhausted && Number.isFinite(x.requests) ? ' (all tokens used)' : ''} → ` +
      `${fmtRate(x.rate)} req/s, p50 ${ms(x.p50)} p99 ${ms(x.p99)} max ${ms(x.max)}, errors ${x.errors}${fmtErrors(x)}, ${cpuText(x, server)}` +
      (x.drainSeconds === undefined ? '' : `\n          (the budget lines count its events' pipeline work in the ${x.drainSeconds.toFixed(1)} s after it too)`) +
      unsettledNote(x),
  );
}

const cpuText = (x, server = 'token-service') => `CPU: ${server} ${x.serverCpu ?? '?'}% bench ${x.clientCpu}% machine ${x.machineBusy ?? '?'}% busy (of which steal ${x.steal ?? '?'}%)`;
const fmtErrors = (x) => (x.errors ? ` ${JSON.stringify(Object.fromEntries(x.statuses))}` : '');
const pct = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
const ms = (v) => `${v.toFixed(2)} ms`;
const fmtRate = (v) => v.toFixed(0).padStart(6);
function int(v) {
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n)) throw new Error(`not an integer: ${v}`);
  return n;
}
function split(list, sizes) {
  let at = 0;
  return sizes.map((n) => list.slice(at, (at += n)));
}
function line(text) {
  process.stdout.write(`${text}\n`);
}
function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    }
    if (a === '--no-login') { out.login = 'false'; continue; }
    if (a === '--no-calibrate') { out.calibrate = 'false'; continue; }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown option ${a} (see --help)`);
    out[m[1]] = m[2] ?? argv[++i];
  }
  return out;
}

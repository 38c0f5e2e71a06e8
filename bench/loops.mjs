// The load loops of bench/check and bench/authorize: closed loop (N in flight, back to back) and
// open loop (a fixed rate, latency from each request's scheduled send time), with the CPU split
// by part of the stack (machine.mjs) over the phase.
import { writeFileSync } from 'node:fs';
import { send, withAuditedServer } from './http-pool.mjs';
import { cpuByPart, cpuSplit, describeCpuSplit, settle, threadSchedstat } from './machine.mjs';

/** `inFlight` loops sending back to back for `seconds`; `send(i)` → { status }. */
export async function closedLoop(send, seconds, inFlight) {
  const latencies = [];
  let errors = 0;
  let i = 0;
  const cpu0 = cpuByPart();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const { status } = await send(i++);
      latencies.push(performance.now() - s);
      if (status !== 200) errors++;
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  return { ...summarize(latencies, elapsed, errors), cpu: cpuSplit(cpu0, cpuByPart(), elapsed) };
}

/**
 * A closed loop (`loop()`) whose CPU split carries the whole cost of its own audit events: the
 * stack is settled with its outbox empty before it starts, so no earlier phase's backlog runs in
 * it, and the CPU after it, until the outbox is empty and the stack quiet again (relays, Kafka,
 * the audit-service taking this loop's events: audit-only events wait up to 2 s in the outbox), is
 * added, less the stack's idle rate over that drain (the quiet second it ended with). Still % of
 * a core over the loop's own seconds, so CPU per answer is cpu / rate as before.
 */
export async function drainedLoop(loop, pending) {
  const ready = await settle({ pending });
  const x = await loop();
  const before = cpuByPart();
  const t0 = performance.now();
  const quiet = await settle({ pending });
  const drainSeconds = (performance.now() - t0) / 1000;
  const cpu = new Map(x.cpu);
  for (const [part, p] of cpuSplit(before, cpuByPart(), x.elapsed)) {
    const idle = ((quiet.split.get(part) ?? 0) * drainSeconds) / x.elapsed;
    cpu.set(part, (cpu.get(part) ?? 0) + Math.max(0, p - idle));
  }
  // a settle that gave up (a stack still busy after 120 s: a profiler sampling every service,
  // another job) leaves other work in this phase: say so beside its numbers
  const unsettled = [[ready, 'before'], [quiet, 'after']].filter(([s]) => !s.settled).map(([s, when]) => `${when} it: this stack ${s.stack}% of a core, ${s.waiting} events waiting in the outbox`);
  return { ...x, cpu, drainSeconds, unsettled };
}

/** One request every 1/perSecond s whatever the answers do; latency from the scheduled time. */
export async function openLoop(send, perSecond, seconds) {
  const count = Math.round(perSecond * seconds);
  const interval = 1000 / perSecond;
  const latencies = new Array(count);
  // how late the client itself sent each request: on a busy machine the bench is descheduled
  // too, and that delay is inside the latency above (counted from the scheduled time)
  const sendLags = new Float64Array(count);
  let errors = 0;
  let sent = 0;
  const cpu0 = cpuByPart();
  const threads0 = serviceMainThreads(cpu0);
  const t0 = performance.now() + 5;
  await new Promise((resolveAll) => {
    let done = 0;
    const tick = () => {
      const now = performance.now();
      while (sent < count && t0 + sent * interval <= now + 1) {
        const scheduled = t0 + sent * interval;
        const index = sent++;
        sendLags[index] = performance.now() - scheduled;
        send(index).then(({ status }) => {
          latencies[index] = performance.now() - Math.min(scheduled, performance.now());
          if (status !== 200) errors++;
          if (++done === count) resolveAll();
        });
      }
      if (sent < count) setTimeout(tick, Math.max(0, t0 + sent * interval - 1 - performance.now()));
    };
    setTimeout(tick, 5);
  });
  const elapsed = (performance.now() - t0) / 1000;
  // every request's latency by its send slot, for bench/thread-wait.mjs report
  const dump = process.env.FEDGATE_BENCH_LATENCY_DUMP;
  if (dump) writeFileSync(dump, JSON.stringify({ t0: performance.timeOrigin + t0, interval, latencies }));
  const cpu1 = cpuByPart();
  return {
    ...summarize(latencies, elapsed, errors),
    sendLag99: pct(sendLags.sort(), 0.99),
    cpu: cpuSplit(cpu0, cpu1, elapsed),
    mainThread: busiestMainThread(threads0, serviceMainThreads(cpu1), elapsed),
  };
}

/** ns each Fedgate service process's main thread has run and waited for a core (schedstat), by pid. */
function serviceMainThreads(processes) {
  const threads = new Map();
  for (const [pid, { part }] of processes ?? []) {
    if (!/-service$/.test(part)) continue;
    const stat = threadSchedstat(pid);
    if (stat) threads.set(pid, { part, ...stat });
  }
  return threads;
}

/** The service main thread that ran most between two snapshots (at least 5% of the loop): % of the loop it ran and waited for a core. */
function busiestMainThread(before, after, seconds) {
  let busiest;
  for (const [pid, { part, run, wait }] of after) {
    const start = before.get(pid);
    if (!start) continue;
    const ranPct = (run - start.run) / 1e7 / seconds;
    if (!busiest || ranPct > busiest.ranPct) busiest = { pid, part, ranPct, waitedPct: (wait - start.wait) / 1e7 / seconds };
  }
  // a loop that did not load a service (OpenFGA directly, the do-nothing server) has none to show
  return busiest && busiest.ranPct >= 5 ? busiest : undefined;
}

export function summarize(latencies, elapsed, errors) {
  const sorted = Float64Array.from(latencies).sort();
  return { requests: sorted.length, elapsed, rate: sorted.length / elapsed, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), max: sorted[sorted.length - 1], errors };
}

/** "title: N requests in s → r req/s, p50 … p99 … max …, errors" and its cpu: line. */
export function describePhase(title, x) {
  const head = `${title}: ${x.requests} requests in ${x.elapsed.toFixed(2)} s → ${x.rate.toFixed(0)} req/s, p50 ${ms(x.p50)} p99 ${ms(x.p99)} max ${ms(x.max)}, errors ${x.errors}`;
  // an open loop's tail: how long the busiest service's event loop was runnable but had no core
  const main = x.mainThread ? `\n          main thread of ${x.mainThread.part} (pid ${x.mainThread.pid}): ran ${x.mainThread.ranPct.toFixed(0)}% of the loop, waited ${x.mainThread.waitedPct.toFixed(0)}% for a core` : '';
  // an open loop's own part of that tail: the client sending late
  const lag = x.sendLag99 === undefined ? '' : `\n          this bench's sends: p99 ${ms(x.sendLag99)} behind their scheduled time (inside the latencies above)`;
  // a drained loop's CPU holds the pipeline's work on its events after it
  const drain = x.drainSeconds === undefined ? '' : ` (with the ${x.drainSeconds.toFixed(1)} s after the loop in which the pipeline took its events)`;
  return (x.cpu ? `${head}\n          cpu: ${describeCpuSplit(x.cpu)}${drain}${main}` : head + main) + lag + unsettledNote(x);
}

/** A drained loop whose settle gave up, before or after it: a line saying so (else ''). */
export const unsettledNote = (x) => (x.unsettled?.length ? `\n          NOT QUIET after 120 s of settling ${x.unsettled.join('; ')}: this phase's CPU split holds other work` : '');

/** Parts of a CPU split that are not this stack's work: other stacks on the machine, the benches' own limit servers. */
export const NOT_THE_STACK = ['outside this stack', 'limit server'];
/** Sum of a cpuSplit over `parts` (all of this stack's, the bench included, when omitted). */
export const sumCpu = (split, parts) => [...split].filter(([part]) => (parts ? parts.includes(part) : !NOT_THE_STACK.includes(part))).reduce((sum, [, p]) => sum + p, 0);

export const pct = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
export const ms = (v) => `${v.toFixed(2)} ms`;

/** OpenFGA's own processes: the CPU of a Check. */
export const OPENFGA_PARTS = ['openfga', 'postgres (openfga db)'];

/**
 * ms of CPU per answer of a phase by part: Fedgate's own (`service`, the service answering, plus
 * `pipeline`: the audit pipeline and other services — PostgreSQL, Kafka, outbox relays, the
 * audit-service's ingest), OpenFGA with its database, and the bench's client.
 */
export function costSplit(phase, service) {
  const msPer = (parts) => (sumCpu(phase.cpu, parts) / phase.rate) * 10;
  const openfga = msPer(OPENFGA_PARTS);
  const client = msPer(['bench']);
  const own = msPer([service]);
  const fedgate = msPer() - openfga - client;
  return { fedgate, service: own, pipeline: fedgate - own, openfga, client };
}

/** "Fedgate's own 0.74 ms (service 0.39, the audit pipeline …)" for a costSplit. */
export const describeCostSplit = (split, service) =>
  `Fedgate's own ${split.fedgate.toFixed(3)} ms (${service} ${split.service.toFixed(3)}, the audit pipeline and other services ${split.pipeline.toFixed(3)}: ` +
  `PostgreSQL, Kafka, outbox relays, audit-service), OpenFGA + its database ${split.openfga.toFixed(3)}, this bench's client ${split.client.toFixed(3)}`;

/**
 * The cached p99's second limit: an open loop at `rate` against bench/audited-server.mjs (the
 * do-nothing server appending each answer's audit event through the outbox, a decision with
 * `data`, before it answers; the stack's pipeline carries the events). Warmed for 3 s
 * first, as a service is long before a bench, and measured once the pipeline has taken the warm-up's
 * events; its own events' backlog is taken before it returns, so it is not the next loop's.
 */
export function auditedOpenLoop({ ca, concurrency, databaseUrl, data, request, rate, seconds, pending }) {
  // `pending` (the bench's outboxBacklog): a quiet stack can still hold up to 2 s of gathered
  // decisions, which the relays would take in the middle of the next loop
  return withAuditedServer({ databaseUrl, type: 'fedgate.authz.decision.v1', data }, { ca, maxSockets: concurrency + 8 }, async (audited) => {
    await audited.prewarm(concurrency);
    const sample = await send(audited, request, true);
    if (sample.status !== 200) throw new Error(`the audited server cannot write its audit event: ${sample.status} ${JSON.stringify(sample.body)}`);
    await openLoop(() => send(audited, request), rate, 3);
    await settle({ pending });
    const loop = await openLoop(() => send(audited, request), rate, seconds);
    await settle({ pending });
    return loop;
  });
}

/**
 * Whether the audited do-nothing server's open loop rules a p99 target out: it missed `targetMs`
 * without an error while the bare do-nothing server met it (so the audit event, not the machine, did),
 * and the bench's own sends kept to their schedule within `targetMs` at p99 (a loop whose client
 * was stalled measured the stall; bench/verify's loops call it `lag99`).
 */
const auditedRulesOut = (audited, nothing, targetMs) =>
  audited.p99 > targetMs && nothing.p99 <= targetMs && audited.errors === 0 && clientLag(audited) <= targetMs;

const clientLag = (loop) => loop.sendLag99 ?? loop.lag99;

/** `text` after `prefix`, or '' when there is no text. */
export const prefixed = (prefix, text) => (text ? prefix + text : '');

/**
 * What the audited loop says of a p99 target (a phrase for the caller to append, '' when nothing):
 * `met` is whether the service met the target in its own loop, in which case a miss of the audited
 * loop measured a disturbance of that loop, not a limit.
 */
export function auditedVerdict(audited, nothing, targetMs, met) {
  if (audited.p99 <= targetMs) return '';
  if (met) return 'missed it in that loop while the service met it in its own: a disturbed loop, not a limit';
  if (auditedRulesOut(audited, nothing, targetMs)) return 'out of reach here now for any service at this audit event cost';
  if (clientLag(audited) > targetMs) return `rules nothing out, the bench's own sends ran ${clientLag(audited).toFixed(2)} ms late at p99 in that loop`;
  return '';
}

/**
 * A throughput target's CPU budget, from the same run: the CPU `needed` req/s would take at the
 * phase's measured CPU per request (this stack, the bench's client included), beside the limit's
 * own (its server and the client). Over the cores: out of reach at these costs. Then how much of
 * that the audit event alone takes: everything of this stack but `service` and OpenFGA
 * (PostgreSQL, Kafka, the outbox relays, the audit-service, other services) per answer, less what
 * those parts used while the limit ran (no request reached them then: the audit chain's paced
 * re-verification, timers), added to the limit's own cost per request (the HTTPS work and client
 * any server pays). Over the cores: out of reach for any `service` at this audit event cost.
 * `phase` and `limit` carry a cpuSplit as `cpu`; `cores` is a % (100 per core).
 */
export function throughputBudget({ phase, needed, limit, limitName, service, cores }) {
  if (!(phase.rate > 0) || !(limit?.rate > 0) || !Number.isFinite(needed)) return '';
  const per = sumCpu(phase.cpu) / phase.rate;
  const limitPer = sumCpu(limit.cpu, ['limit server', 'bench']) / limit.rate;
  const total = per * needed;
  const floor = limitPer * needed;
  const { pipeline } = costSplit(phase, service);
  const background = sumCpu(limit.cpu) - sumCpu(limit.cpu, ['bench', service, ...OPENFGA_PARTS]);
  const pipelinePer = Math.max(0, pipeline - (background / phase.rate) * 10);
  const least = (pipelinePer / 10 + limitPer) * needed;
  return (
    `\n        — at ${needed.toFixed(0)} req/s: ${total.toFixed(0)}% of ${cores}% CPU at this phase's ${(per * 10).toFixed(3)} ms per request` +
    ` (${limitName} with the same client: ${(limitPer * 10).toFixed(3)} ms, ${floor.toFixed(0)}%)` +
    (floor > cores ? ': out of reach on this machine, even for the limit' : total > cores ? ': out of reach at these costs' : '') +
    `\n        — of it, the audit pipeline and other services ${pipelinePer.toFixed(3)} ms per answer (less their ${background.toFixed(0)}% while ${limitName} ran); ` +
    `with ${limitName}'s own cost: ${least.toFixed(0)}% of ${cores}%` +
    (least > cores ? `: out of reach with any ${service} at this audit event cost` : '')
  );
}

/**
 * The uncached CPU target's floor from the same run: an uncached decision does everything a
 * cached answer does (HTTP, token, the audit event and its pipeline) and asks OpenFGA too, so
 * Fedgate's own CPU per cached answer bounds it from below. Over the limit: out of reach at these costs.
 */
export function uncachedCpuFloor(cachedPhase, service, limitMs) {
  if (cachedPhase.skipped || !(cachedPhase.rate > 0)) return '';
  const floor = costSplit(cachedPhase, service).fedgate;
  return (
    `\n        — its floor, the cached phase's own ${floor.toFixed(3)} ms per answer (all an uncached decision does but the Check): ` +
    `${(floor / limitMs).toFixed(2)} × the limit${floor > limitMs ? ': out of reach at these costs' : ''}`
  );
}

/**
 * The two open-loop targets of bench/check and bench/authorize, as [name, value, pass] verdicts:
 * cached p99 ≤ `cachedP99Ms` (beside the do-nothing server's p99 in the same loop and, when given,
 * `audited`'s: that server writing each answer's audit event as the services do), uncached p99 ≤
 * OpenFGA-alone p99 + `overOpenFgaMs` (every uncached decision waits for one OpenFGA Check).
 * With `cores` (%), each target gets a budget line, as the throughput targets do: the CPU `rate`
 * answers a second take at the loop's measured CPU per answer (this stack and the client), beside
 * the limit's own loop at that rate (the do-nothing server's, OpenFGA's). Over the cores, the
 * machine cannot keep up with `rate`, so the queue and p99 grow for the whole loop: out of reach
 * at these costs. Under them, it shows how busy the loop kept the cores: an answer's process
 * waits for a core more often the busier they are.
 */
export function openLoopVerdicts({ rate, cached, uncached, openfga, nothing, audited, cachedP99Ms, overOpenFgaMs, cores }) {
  const uncachedLimit = openfga.p99 + overOpenFgaMs;
  // % of a core per answer/s, of this stack and the client; a limit's loop counts its own parts and the client
  const budget = (loop, limit) => {
    if (cores === undefined || !(loop.rate > 0)) return '';
    const perAnswer = sumCpu(loop.cpu ?? []) / loop.rate;
    return (
      `\n        — at ${rate} req/s: ${(perAnswer * rate).toFixed(0)}% of ${cores}% CPU at this loop's ${(perAnswer * 10).toFixed(3)} ms per answer` +
      ` (${limit})${perAnswer * rate > cores ? ': out of reach at these costs' : ''}`
    );
  };
  const nothingLoop = sumCpu(nothing.cpu ?? [], ['limit server', 'bench']);
  const openfgaLoop = sumCpu(openfga.cpu ?? [], [...OPENFGA_PARTS, 'bench']);
  const answered = (x) => `(${x.rate.toFixed(0)} answered/s, errors ${x.errors})`;
  return [
    [
      `cached p99 ≤ ${cachedP99Ms} ms at ${rate}/s`,
      `p99 ${ms(cached.p99)} ${answered(cached)}; limit ${cachedP99Ms} ms; a do-nothing HTTPS server in the same loop: p99 ${ms(nothing.p99)}` +
        (nothing.p99 > cachedP99Ms ? ' — out of reach here now: the do-nothing server alone misses it' : '') +
        (audited === undefined || audited.skipped
          ? ''
          : `\n        — the do-nothing server writing each answer's audit event the same way, the stack's pipeline carrying them, in its loop: p99 ${ms(audited.p99)} ${answered(audited)}` +
            prefixed(': ', auditedVerdict(audited, nothing, cachedP99Ms, cached.p99 <= cachedP99Ms && cached.errors === 0))) +
        budget(cached, `the do-nothing server in its loop: ${nothingLoop.toFixed(0)}%, the client included`),
      cached.p99 <= cachedP99Ms && cached.errors === 0,
    ],
    [
      `uncached p99 ≤ OpenFGA p99 + ${overOpenFgaMs} ms`,
      `p99 ${ms(uncached.p99)} ${answered(uncached)}; limit ${ms(openfga.p99)} + ${overOpenFgaMs} = ${ms(uncachedLimit)}` +
        (openfga.rate < 0.98 * rate ? `\n        — OpenFGA alone answered only ${openfga.rate.toFixed(0)}/s of ${rate}/s: saturated, so its p99 is its queue` : '') +
        budget(uncached, `OpenFGA alone in its loop: ${openfgaLoop.toFixed(0)}%, its database and the client included`),
      uncached.p99 <= uncachedLimit && uncached.errors === 0,
    ],
  ];
}

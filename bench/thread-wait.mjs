// Where an open loop's slow answers come from: each thread of a service running, or runnable but
// waiting for a core (/proc/PID/task/TID/schedstat: ns on a CPU, ns waiting on a run queue), in
// windows beside the latency of the requests scheduled in them.
//   node bench/thread-wait.mjs record PID SECONDS OUT.json      (samples every 10 ms)
//   FEDGATE_BENCH_LATENCY_DUMP=LAT.json node bench/authorize.mjs --phases rate-cached ...
//   node bench/thread-wait.mjs report LAT.json OUT.json [WINDOW_MS] [SLOW_MS]
// `report` prints each thread's run and wait over the whole loop, then every window whose slowest
// request took over SLOW_MS (default 15): per thread "ms running/ms waiting" in that window.
// Node's threads are all called "node": the main thread is the one whose id is the PID, the V8
// platform workers (GC helpers) come next, the libuv pool (file writes) last.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { threadSchedstat } from './machine.mjs';

const [command, ...args] = process.argv.slice(2);

if (command === 'record') {
  const [pid, seconds, out] = args;
  if (!pid || !seconds || !out) throw new Error('usage: node bench/thread-wait.mjs record PID SECONDS OUT.json');
  const tids = readdirSync(`/proc/${pid}/task`);
  const threads = tids.map((tid) => `${readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()}/${tid}${tid === pid ? ' (main)' : ''}`);
  const rows = [];
  const end = Date.now() + Number(seconds) * 1000;
  const sample = () => {
    const at = performance.timeOrigin + performance.now();
    rows.push([at, ...tids.map((tid) => {
      const stat = threadSchedstat(pid, tid);
      return stat ? [stat.run, stat.wait] : [0, 0]; // the thread ended
    })]);
    if (Date.now() < end) setTimeout(sample, 10);
    else writeFileSync(out, JSON.stringify({ threads, rows }));
  };
  sample();
} else if (command === 'report') {
  const [latFile, sampleFile, windowArg, slowArg] = args;
  if (!latFile || !sampleFile) throw new Error('usage: node bench/thread-wait.mjs report LAT.json OUT.json [WINDOW_MS] [SLOW_MS]');
  const lat = JSON.parse(readFileSync(latFile, 'utf8'));
  const { threads, rows } = JSON.parse(readFileSync(sampleFile, 'utf8'));
  const windowMs = Number(windowArg ?? 50);
  const slowMs = Number(slowArg ?? 15);
  // the last sample at or before t
  const at = (t) => {
    let lo = 0;
    let hi = rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (rows[mid][0] <= t) lo = mid;
      else hi = mid - 1;
    }
    return rows[lo];
  };
  const ms = (a, b, k, field) => (b[1 + k][field] - a[1 + k][field]) / 1e6;
  const loopMs = lat.latencies.length * lat.interval;
  const first = at(lat.t0);
  const last = at(lat.t0 + loopMs);
  const busy = threads.map((_, k) => k).filter((k) => ms(first, last, k, 0) >= 1);
  console.log(`the whole loop (${(loopMs / 1000).toFixed(1)} s), ms running / ms waiting for a core:`);
  for (const k of busy) console.log(`  ${threads[k].padEnd(20)} ${ms(first, last, k, 0).toFixed(0).padStart(6)} / ${ms(first, last, k, 1).toFixed(0)}`);
  const windows = Math.ceil(loopMs / windowMs);
  const slowest = new Array(windows).fill(0);
  lat.latencies.forEach((l, i) => {
    const w = Math.floor((i * lat.interval) / windowMs);
    slowest[w] = Math.max(slowest[w], l);
  });
  console.log(`windows of ${windowMs} ms whose slowest answer took over ${slowMs} ms (${slowest.filter((s) => s > slowMs).length} of ${windows}): start, slowest, then per thread running/waiting`);
  console.log(`  ${'start'.padStart(6)} ${'slowest'.padStart(8)}  ${busy.map((k) => threads[k].split('/')[1]).join(' ')}`);
  for (let w = 0; w < windows; w++) {
    if (slowest[w] <= slowMs) continue;
    const a = at(lat.t0 + w * windowMs);
    const b = at(lat.t0 + (w + 1) * windowMs);
    console.log(`  ${String(w * windowMs).padStart(6)} ${slowest[w].toFixed(1).padStart(8)}  ${busy.map((k) => `${ms(a, b, k, 0).toFixed(0)}/${ms(a, b, k, 1).toFixed(0)}`).join(' ')}`);
  }
} else {
  throw new Error('usage: node bench/thread-wait.mjs record PID SECONDS OUT.json | report LAT.json OUT.json [WINDOW_MS] [SLOW_MS]');
}

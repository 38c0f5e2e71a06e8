// Where a token-service's main thread spends its time, from a `node --cpu-prof` profile
// (bench/instance.sh start PORT --cpu-prof --cpu-prof-dir=DIR; load it with bench/verify --url ...;
// bench/instance.sh stop PORT writes the profile). Each sample goes to the first non-Node-core
// frame on its stack (so TLS writes, syscalls and wasm count for the JS that caused them).
//   node bench/cpuprofile-summary.mjs FILE.cpuprofile [FROM_S TO_S]
// Without a window it uses the seconds in which the main thread was ≥ 80% busy (the load).
import { readFileSync } from 'node:fs';

const [file, fromArg, toArg] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/cpuprofile-summary.mjs FILE.cpuprofile [FROM_S TO_S]');
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const isIdle = (id) => byId.get(id).callFrame.functionName === '(idle)';

// per-second busy share → the default window
const seconds = new Map();
let t = prof.startTime;
const at = prof.samples.map((id, i) => {
  t += prof.timeDeltas[i];
  const s = Math.floor((t - prof.startTime) / 1e6);
  const b = seconds.get(s) ?? { busy: 0, total: 0 };
  b.total += prof.timeDeltas[i];
  if (!isIdle(id)) b.busy += prof.timeDeltas[i];
  seconds.set(s, b);
  return t - prof.startTime;
});
const loaded = [...seconds].filter(([, b]) => b.busy / b.total >= 0.8).map(([s]) => s);
const from = (fromArg !== undefined ? Number(fromArg) : Math.min(...loaded.filter((s) => s > 2))) * 1e6;
const to = (toArg !== undefined ? Number(toArg) : Math.max(...loaded) + 1) * 1e6;

const pkgOf = (url) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const d = /\/dist\/(libs|apps)\/([^/]+)\/src\/(.*)$/.exec(url);
  return d ? `${d[1]}/${d[2]}/${d[3]}` : url;
};
const category = (p) => {
  if (/^@prisma|^pg($|-)|^postgres-|^wasm:/.test(p) || p.startsWith('libs/database')) return 'Prisma + pg (audit outbox append, outbox relay)';
  if (p === 'kafkajs' || p.startsWith('libs/kafka')) return 'kafkajs (relay publish, consumer)';
  if (p === 'jose') return 'jose (jwtVerify)';
  if (p.startsWith('libs/token-verification') || p.startsWith('apps/token-service')) return 'token-verification + controller';
  if (/^(pino|pino-http|pino-std-serializers|@pinojs\/.*|nestjs-pino|sonic-boom|fast-redact|thread-stream)$/.test(p)) return 'pino-http request logging';
  if (p === 'prom-client') return 'prom-client metrics';
  if (/^(body-parser|raw-body|iconv-lite|content-type|type-is|bytes|http-errors|unpipe|media-typer|mime-types)$/.test(p)) return 'body-parser';
  if (p === 'zod' || p.startsWith('libs/contracts')) return 'contracts + zod (validation, CloudEvent)';
  if (p.startsWith('libs/platform')) return 'platform (API-key guard, request id, metrics middleware, validBody)';
  if (/^(express|router|@nestjs\/.*|rxjs|finalhandler|send|etag|fresh|vary|path-to-regexp|depd|on-finished|parseurl|encodeurl|statuses|accepts|negotiator|cookie|qs|proxy-addr|forwarded|ipaddr\.js|range-parser|setprototypeof|safe-buffer|debug|ms|iterare|tslib|reflect-metadata|uid)$/.test(p)) {
    return 'express + NestJS (incl. the response write: TLS + syscall)';
  }
  return `other: ${p}`;
};

const sums = new Map();
let total = 0;
prof.samples.forEach((id, i) => {
  if (at[i] < from || at[i] > to) return;
  const d = prof.timeDeltas[i];
  total += d;
  const fn = byId.get(id).callFrame.functionName;
  let c = fn === '(idle)' ? 'idle' : fn === '(garbage collector)' ? 'GC' : fn === '(program)' ? '(program)' : undefined;
  for (let cur = id; c === undefined && cur !== undefined; cur = parent.get(cur)) {
    const url = byId.get(cur).callFrame.url;
    if (url && !url.startsWith('node:')) c = category(pkgOf(url));
  }
  c ??= 'Node core (HTTP parser, TLS, sockets, timers)';
  sums.set(c, (sums.get(c) ?? 0) + d);
});
const busy = total - (sums.get('idle') ?? 0);
console.log(`${file}: window ${(from / 1e6).toFixed(0)}–${(to / 1e6).toFixed(0)} s, main thread busy ${((busy / total) * 100).toFixed(0)}%`);
for (const [k, v] of [...sums].sort((a, b) => b[1] - a[1])) {
  if (k !== 'idle' && v / busy >= 0.003) console.log(`${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
}

// Where a service process allocates, collected objects included: a sampling heap profile over the
// inspector of a process started with --inspect (bench/instance.sh start token 17032
// --inspect=127.0.0.1:9339), for SECONDS while a bench loads it; bytes by allocation site (the site
// and its two callers). Node 20 needs the WebSocket client flag:
//   node --experimental-websocket bench/heap-sample.mjs 9339 75
// Session 22 found the relay's BigInt allocations (kafkajs's murmur2 and varlongs) this way.
const [port, seconds = '30'] = process.argv.slice(2);
if (!port) throw new Error('usage: node --experimental-websocket bench/heap-sample.mjs INSPECT_PORT [SECONDS]');
const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener('open', r));
let id = 0;
const pending = new Map();
ws.addEventListener('message', (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
});
const call = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
await call('HeapProfiler.enable');
const started = await call('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
if (started.error) console.error('startSampling', started.error);
console.error('sampling');
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const { result } = await call('HeapProfiler.stopSampling');
ws.close();
const bySite = new Map();
let total = 0;
(function walk(node, stack) {
  const f = node.callFrame;
  const site = `${f.functionName || '(anon)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*dist\//, '')}:${f.lineNumber}`;
  const s = [...stack, site];
  if (node.selfSize) {
    total += node.selfSize;
    const key = s.slice(-3).reverse().join(' < ');
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
  }
  for (const c of node.children ?? []) walk(c, s);
})(result.profile.head, []);
console.log(`sampled ${(total / 1e6).toFixed(1)} MB allocated`);
for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(v / 1e6).toFixed(2).padStart(8)} MB  ${k.slice(0, 230)}`);

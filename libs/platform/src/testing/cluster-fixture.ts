// A tiny clustered server for cluster.spec.ts: every worker counts its requests in its own
// registry, and /metrics answers with the sum over the cluster.
import http from 'node:http';
import { Counter, Registry } from 'prom-client';
import { metricsText, runClustered, shareRegistryWithPrimary } from '../cluster';

runClustered('cluster-fixture', Number(process.env.FIXTURE_WORKERS ?? 2), () => {
  const registry = new Registry();
  shareRegistryWithPrimary(registry);
  const started = new Counter({ name: 'fixture_workers_started_total', help: 'workers started', registers: [registry] });
  started.inc();
  if (process.env.FIXTURE_FAIL_AT_START === '1') process.exit(3);
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      metricsText(registry).then((text) => res.end(text), (err: Error) => res.writeHead(500).end(err.message));
    } else {
      res.end(String(process.pid));
    }
  });
  server.listen(Number(process.env.FIXTURE_PORT), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
});

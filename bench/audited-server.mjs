// The "audited do-nothing server" limit of the open-loop targets: bench/null-server.mjs plus what
// every Fedgate answer must do before it is sent, and nothing else: append one audit event (of
// the type and data the bench's answers record) through the services' own OutboxGroupWriter
// (group commit, one INSERT in flight, 2 ms apart) and answer once it is durable. Downstream, the
// stack's real pipeline carries the events (relays, Kafka, the audit-service's ingest), as it does
// a service's. Its p99 at a rate is what any service that keeps the audit guarantee reaches here
// beside that pipeline; the answers' own work (framework, token, decision) is not in it.
// The events say where they come from (source /fedgate/bench/audited-server), so the audit log
// never shows them as a service's decisions. Forked by bench/http-pool.mjs `withAuditedServer`,
// which sends { databaseUrl, type, data } (the event's type and data; a decision gets a fresh
// decision_id each time) as the first IPC message.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtLibraries } from './tokens.mjs';
import { createLimitServer } from './limit-server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.argv[2] ?? 0);
const AUDITED_SERVER_SOURCE = '/fedgate/bench/audited-server';

process.once('message', ({ databaseUrl, type, data }) => {
  const { require } = builtLibraries(root, 'authz-service');
  const { OutboxStore, OutboxGroupWriter } = require('@fedgate/database');
  const { createCloudEvent } = require('@fedgate/contracts');
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const audit = new OutboxGroupWriter(new OutboxStore(pool));
  const ok = JSON.stringify({ allowed: true, account: data.account ?? { flwr_aid: data.flwr_aid } });
  const eventData = type === 'fedgate.authz.decision.v1' ? () => ({ ...data, decision_id: randomUUID() }) : () => data;
  const server = createLimitServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      let status = 200;
      let body = ok;
      try {
        await audit.append(createCloudEvent({ type, source: AUDITED_SERVER_SOURCE, data: eventData() }));
      } catch (err) {
        status = 503;
        body = JSON.stringify({ error: 'unavailable', error_description: String(err.message) });
      }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(port, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
});
process.on('disconnect', () => process.exit(0));

// The transport ceiling for bench/verify: an HTTPS server (the stack's certificate, plain
// node:https, no framework) that answers every POST /v1/verify with a fixed 200 body and does
// no work. What bench/verify measures against it is what this machine can do for HTTPS +
// the bench client alone.
//   node bench/null-server.mjs 17033 & bench/verify --url https://127.0.0.1:17033 --server-pid $!
// (bench/verify also forks it on a free port for its `floor` line: the rate phase with no service.)
import https from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const state = process.env.FEDGATE_STATE_DIR ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../.fedgate');
const port = Number(process.argv[2] ?? 17033);
const body = JSON.stringify({ active: true, account: { flwr_aid: 'alice', account_name: 'alice' }, scope: '', expires_at: 1 });
const server = https.createServer({ key: readFileSync(path.join(state, 'tls/server-key.pem')), cert: readFileSync(path.join(state, 'tls/server.pem')) }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
// idle keep-alive connections stay open as long as the services' (Fastify's default, 72 s; node's
// is 5 s): a loop after a settle would otherwise send on connections the server closed
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  if (process.send) process.send({ port: bound });
  else console.error(`null server on https://127.0.0.1:${bound} (pid ${process.pid})`);
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

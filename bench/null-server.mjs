// The transport ceiling for bench/verify: an HTTPS server (the stack's certificate, plain
// node:https, no framework) that answers every POST /v1/verify with a fixed 200 body and does
// no work. What bench/verify measures against it is what this machine can do for HTTPS +
// the bench client alone.
//   node bench/null-server.mjs 17033 & bench/verify --url https://127.0.0.1:17033 --server-pid $!
// (bench/verify also forks it on a free port for its `floor` line: the rate phase with no service.)
import { createLimitServer } from './limit-server.mjs';

const port = Number(process.argv[2] ?? 17033);
const body = JSON.stringify({ active: true, account: { flwr_aid: 'alice', account_name: 'alice' }, scope: '', expires_at: 1 });
const server = createLimitServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  if (process.send) process.send({ port: bound });
  else console.error(`null server on https://127.0.0.1:${bound} (pid ${process.pid})`);
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

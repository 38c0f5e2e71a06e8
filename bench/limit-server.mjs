// The HTTPS server of the benches' limit servers (null-server, bare-verifier, audited-server): the
// stack's certificate, and idle keep-alive connections kept as long as the services keep them
// (Fastify's default, 72 s; node's is 5 s), so a loop after a settle never sends on connections
// the server closed meanwhile.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const state = process.env.FEDGATE_STATE_DIR ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../.fedgate');

export function createLimitServer(handler) {
  const server = https.createServer({ key: readFileSync(path.join(state, 'tls/server-key.pem')), cert: readFileSync(path.join(state, 'tls/server.pem')) }, handler);
  server.keepAliveTimeout = 72_000;
  return server;
}

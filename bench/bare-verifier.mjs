// The "bare verifier" limit of bench/authorize: bench/null-server.mjs plus jose `jwtVerify` of the
// request body's `access_token` on every request, with the service's options (issuer, audience,
// algorithms, clock tolerance, required claims) against the IdP's JWKS (createLocalJWKSet). No
// framework, no cache, no audit: what HTTPS + one signature check per request reach here with
// the same client. Forked by bench/http-pool.mjs `withBareVerifier`, which sends { jwks, options }
// as the first IPC message and is told the port.
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createLimitServer } from './limit-server.mjs';

const port = Number(process.argv[2] ?? 0);
process.once('message', ({ jwks, options }) => {
  const keys = createLocalJWKSet(jwks);
  const server = createLimitServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let status = 200;
      let body;
      try {
        const { access_token: token } = JSON.parse(Buffer.concat(chunks).toString());
        const { payload } = await jwtVerify(token, keys, { ...options, currentDate: new Date() });
        body = JSON.stringify({ allowed: true, account: { flwr_aid: payload.sub, account_name: payload.preferred_username ?? payload.sub } });
      } catch (err) {
        status = 401;
        body = JSON.stringify({ allowed: false, error: 'invalid_token', error_description: String(err.code ?? err.message) });
      }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(port, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
});
process.on('disconnect', () => process.exit(0));

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FedgateError } from '@fedgate/contracts';
import { LoginClientError, loginErrorCode } from './errors';
import { LoginServiceClient } from './login-service-client';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

type Answer = { status: number; body?: unknown; raw?: string; contentType?: string } | 'hang';

/** An in-test login service: records each request, answers what the test scripted. */
class FakeLoginService {
  readonly seen: Seen[] = [];
  answer: (request: Seen) => Answer = () => ({ status: 500, body: { error: 'internal_error', error_description: 'unscripted' } });
  private readonly hanging: http.ServerResponse[] = [];

  readonly handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined };
      this.seen.push(request);
      const answer = this.answer(request);
      if (answer === 'hang') {
        this.hanging.push(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json' });
      res.end(answer.raw ?? JSON.stringify(answer.body));
    });
  };

  release(): void {
    for (const res of this.hanging.splice(0)) res.destroy();
  }
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const API_KEY = 'test-api-key-0123456789';
const DETAILS = {
  authn_type: 'oidc',
  device_code: 'device-code-secret',
  user_code: 'WXYZ-1234',
  verification_uri: 'https://idp.example/device',
  verification_uri_complete: 'https://idp.example/device?user_code=WXYZ-1234',
  expires_in: 600,
  interval: 5,
};
const TOKENS = {
  access_token: 'access-token-secret',
  refresh_token: 'refresh-token-secret',
  token_type: 'Bearer',
  expires_in: 300,
  account: { flwr_aid: 'alice-sub', account_name: 'alice' },
};

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected a rejection');
}

describe('LoginServiceClient', () => {
  const fake = new FakeLoginService();
  const server = http.createServer(fake.handler);
  let base = '';
  let client: LoginServiceClient;

  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  after(async () => {
    fake.release();
    await close(server);
  });
  beforeEach(() => {
    fake.seen.length = 0;
    fake.release();
    client = new LoginServiceClient({ baseUrl: base, apiKey: API_KEY });
  });

  it('startDeviceLogin: POST /v1/device/authorize with JSON {} and x-fedgate-key, answer validated', async () => {
    fake.answer = () => ({ status: 200, body: DETAILS });
    assert.deepEqual(await client.startDeviceLogin(), DETAILS);
    const [request] = fake.seen;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/v1/device/authorize');
    assert.equal(request.headers['x-fedgate-key'], API_KEY);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers.accept, 'application/json');
    assert.deepEqual(request.body, {});
  });

  it('startDeviceLogin(scope) sends the scope; a path prefix of the base URL is kept', async () => {
    fake.answer = () => ({ status: 200, body: DETAILS });
    const prefixed = new LoginServiceClient({ baseUrl: `${base}/login/`, apiKey: API_KEY });
    await prefixed.startDeviceLogin('openid offline_access profile');
    assert.equal(fake.seen[0].url, '/login/v1/device/authorize');
    assert.deepEqual(fake.seen[0].body, { scope: 'openid offline_access profile' });
  });

  it('an invalid scope is refused locally (invalid_request), nothing is sent', async () => {
    const error = await rejection(client.startDeviceLogin('bad"scope'));
    assert.ok(error instanceof FedgateError);
    assert.equal(error.code, 'invalid_request');
    assert.equal(fake.seen.length, 0);
  });

  it('pollDeviceToken: POST /v1/device/token with {device_code}; tokens and account validated', async () => {
    fake.answer = () => ({ status: 200, body: { ...TOKENS, extra: 'ignored' } });
    assert.deepEqual(await client.pollDeviceToken('device-code-secret'), TOKENS);
    assert.equal(fake.seen[0].url, '/v1/device/token');
    assert.deepEqual(fake.seen[0].body, { device_code: 'device-code-secret' });
    assert.equal(fake.seen[0].headers['x-fedgate-key'], API_KEY);
  });

  it('device-flow error answers become FedgateErrors with their codes, kept distinguishable', async () => {
    for (const code of ['authorization_pending', 'slow_down', 'expired_token', 'access_denied', 'invalid_grant']) {
      fake.answer = () => ({ status: 400, body: { error: code, error_description: `the ${code} case` } });
      const error = await rejection(client.pollDeviceToken('dc'));
      assert.ok(error instanceof FedgateError, code);
      assert.equal(error.code, code);
      assert.equal(error.status, 400);
      assert.equal(error.message, `the ${code} case`);
      assert.equal(loginErrorCode(error), code);
    }
  });

  it('a wrong key is invalid_client (401); dependency_unavailable stays a FedgateError', async () => {
    fake.answer = () => ({ status: 401, body: { error: 'invalid_client', error_description: 'unknown key' } });
    const unauthenticated = await rejection(client.startDeviceLogin());
    assert.ok(unauthenticated instanceof FedgateError);
    assert.equal(unauthenticated.code, 'invalid_client');
    assert.equal(unauthenticated.status, 401);

    fake.answer = () => ({ status: 503, body: { error: 'dependency_unavailable', error_description: 'db down' } });
    assert.equal((await rejection(client.startDeviceLogin())).code, 'dependency_unavailable');
  });

  it('503 idp_unavailable stays distinguishable', async () => {
    fake.answer = () => ({ status: 503, body: { error: 'idp_unavailable', error_description: 'The identity provider does not answer.' } });
    const error = await rejection(client.startDeviceLogin());
    assert.ok(error instanceof FedgateError);
    assert.equal(error.code, 'idp_unavailable');
    assert.equal(error.status, 503);
    assert.equal(error.message, 'The identity provider does not answer.');
  });

  it('an error answer without a Fedgate body: 502/503/504 → login_service_unreachable, others → internal_error; unknown codes → internal_error', async () => {
    fake.answer = () => ({ status: 503, raw: '<html>Service Unavailable</html>', contentType: 'text/html' });
    assert.equal((await rejection(client.startDeviceLogin())).code, 'login_service_unreachable');
    fake.answer = () => ({ status: 500, raw: 'oops', contentType: 'text/plain' });
    const internal = await rejection(client.startDeviceLogin());
    assert.equal(internal.code, 'internal_error');
    assert.equal(internal.status, 500);
    fake.answer = () => ({ status: 418, body: { error: 'teapot', error_description: 'short and stout' } });
    const unknown = await rejection(client.startDeviceLogin());
    assert.equal(unknown.code, 'internal_error');
    assert.match(unknown.message, /teapot: short and stout/);
  });

  it('answers that break the contract are invalid_response, without echoing secrets', async () => {
    fake.answer = () => ({ status: 200, body: { ...TOKENS, token_type: 'mac', account: { flwr_aid: 'alice-sub' } } });
    const broken = await rejection(client.pollDeviceToken('dc'));
    assert.ok(broken instanceof LoginClientError);
    assert.equal(broken.code, 'invalid_response');
    assert.match(broken.message, /token_type/);
    assert.match(broken.message, /account\.account_name/);
    assert.ok(!broken.message.includes('access-token-secret') && !broken.message.includes('refresh-token-secret'));

    fake.answer = () => ({ status: 200, body: { ...DETAILS, authn_type: 'basic', interval: 0 } });
    const details = await rejection(client.startDeviceLogin());
    assert.equal(details.code, 'invalid_response');
    assert.match(details.message, /authn_type/);
    assert.match(details.message, /interval/);

    fake.answer = () => ({ status: 200, raw: 'not json', contentType: 'text/plain' });
    assert.equal((await rejection(client.startDeviceLogin())).code, 'invalid_response');
  });

  it('no answer within the timeout → login_service_unreachable', async () => {
    fake.answer = () => 'hang';
    const quick = new LoginServiceClient({ baseUrl: base, apiKey: API_KEY, timeoutMs: 200 });
    const started = Date.now();
    const error = await rejection(quick.pollDeviceToken('dc'));
    assert.ok(error instanceof LoginClientError);
    assert.equal(error.code, 'login_service_unreachable');
    assert.match(error.message, /no answer within 0\.2 s/);
    assert.ok(Date.now() - started < 5_000);
  });

  it('the default timeout is 10 s', () => {
    assert.equal(client.timeoutMs, 10_000);
  });

  it('a refused connection → login_service_unreachable', async () => {
    const closed = http.createServer();
    const port = await listen(closed);
    await close(closed);
    const error = await rejection(new LoginServiceClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY }).startDeviceLogin());
    assert.equal(error.code, 'login_service_unreachable');
    assert.match(error.message, /ECONNREFUSED/);
  });

  it("the caller's signal aborts a request → login_aborted", async () => {
    fake.answer = () => 'hang';
    const abort = new AbortController();
    const pending = client.pollDeviceToken('dc', { signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    assert.equal((await rejection(pending)).code, 'login_aborted');
  });

  it('refuses plain http except on loopback, URLs with credentials, and a missing key', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as LoginClientError).code;
      }
      return 'no error';
    };
    assert.equal(code(() => new LoginServiceClient({ baseUrl: 'http://login.example.org', apiKey: API_KEY })), 'invalid_login_url');
    assert.equal(code(() => new LoginServiceClient({ baseUrl: 'not a url', apiKey: API_KEY })), 'invalid_login_url');
    assert.equal(code(() => new LoginServiceClient({ baseUrl: 'https://u:p@login.example.org', apiKey: API_KEY })), 'invalid_login_url');
    assert.equal(code(() => new LoginServiceClient({ baseUrl: 'https://login.example.org', apiKey: '' })), 'missing_api_key');
    for (const ok of ['https://login.example.org', 'http://localhost:1', 'http://127.0.0.1:1', 'http://[::1]:1']) {
      assert.equal(code(() => new LoginServiceClient({ baseUrl: ok, apiKey: API_KEY })), 'no error', ok);
    }
  });
});

describe('LoginServiceClient over https', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'login-client-tls-'));
  const fake = new FakeLoginService();
  let server: https.Server;
  let base = '';
  let caPem = '';

  before(async () => {
    // a self-signed certificate for 127.0.0.1 that is its own trust anchor
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    caPem = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: caPem }, fake.handler);
    base = `https://127.0.0.1:${await listen(server)}`;
    fake.answer = () => ({ status: 200, body: DETAILS });
  });
  after(async () => {
    await close(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an untrusted certificate is login_service_unreachable, naming the TLS failure', async () => {
    const error = await rejection(new LoginServiceClient({ baseUrl: base, apiKey: API_KEY }).startDeviceLogin());
    assert.equal(error.code, 'login_service_unreachable');
    assert.match(error.message, /certificate/i);
  });

  it('trusts an extra CA given as `ca`', async () => {
    assert.deepEqual(await new LoginServiceClient({ baseUrl: base, apiKey: API_KEY, ca: caPem }).startDeviceLogin(), DETAILS);
  });
});

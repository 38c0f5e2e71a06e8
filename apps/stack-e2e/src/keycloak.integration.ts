// Fedgate against a real Keycloak 26 (scripts/infra/keycloak.sh: Maven Central's distribution,
// the machine's JDK 21+): a login-service and token-service pair configured exactly as
// `npm run stack -- --idp-env-file .fedgate/keycloak/idp.env` would configure them (through
// service-env.sh), beside the dev-IdP stack and sharing its PostgreSQL and Kafka. The person's
// sign-in and consent go through Keycloak's own HTML forms.
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TokenSetResponse } from '@fedgate/contracts';
import { approveKeycloakDeviceLogin } from '@fedgate/dev-idp';
import { readStackFile, trustCertificateAuthorities } from '@fedgate/stack';
import { freePort, parseEnvFile, postJson, repoRoot, runProjectScript, serviceKafkaEnv, uniqueSuffix, waitFor, withPg } from '@fedgate/testing';

const stack = readStackFile();
const root = repoRoot();
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const idpEnvFile = path.join(state, 'keycloak/idp.env');

/** The environment service-env.sh gives every service for this IdP settings file (what the stack would run with). */
function serviceEnvFor(settingsFile: string): Record<string, string> {
  const script = `. scripts/infra/lib.sh && ensure_secrets && . scripts/infra/service-env.sh && node -e 'process.stdout.write(JSON.stringify(process.env))'`;
  const result = spawnSync('bash', ['-c', script], { cwd: root, encoding: 'utf8', env: { ...process.env, FEDGATE_IDP_SETTINGS_FILE: settingsFile } });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, string>;
}

interface Service {
  url: string;
  process: ChildProcess;
  output: string[];
}

async function startService(name: 'login' | 'token' | 'authz', env: Record<string, string>): Promise<Service> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn('node', [path.join(root, `dist/apps/${name}-service/src/main.js`)], {
    // no clock skew allowance, so the expiry test waits seconds, not the default 30 s more
    env: { ...env, ...serviceKafkaEnv(`${name}-service`), FEDGATE_PORT: String(port), FEDGATE_WORKERS: '1', FEDGATE_TOKEN_CLOCK_SKEW_SECONDS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const url = `https://127.0.0.1:${port}`;
  await waitFor(`${name}-service against Keycloak`, async () => {
    if (child.exitCode !== null) throw new Error(`${name}-service exited: ${output.join('')}`);
    return (await fetch(`${url}/readyz`)).ok;
  }, 90_000, 250);
  return { url, process: child, output };
}

/** Keycloak's admin REST API with the bootstrap admin keycloak.sh created. */
class KeycloakAdmin {
  constructor(private readonly base: string) {}

  private async token(): Promise<string> {
    const res = await fetch(`${this.base}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password: process.env.FEDGATE_KEYCLOAK_ADMIN_PASSWORD ?? '' }),
    });
    assert.equal(res.status, 200, 'Keycloak admin token');
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async call(method: string, pathname: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.base}/admin/realms/fedgate${pathname}`, {
      method,
      headers: { authorization: `Bearer ${await this.token()}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.ok(res.ok, `${method} ${pathname}: ${res.status} ${await res.clone().text()}`);
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
  }

  async client(clientId: string): Promise<any> {
    const [client] = await this.call('GET', `/clients?clientId=${encodeURIComponent(clientId)}`);
    return client;
  }

  /** A user with a password; `withoutDefaultRoles` takes away the realm's default roles (offline_access among them). */
  async createUser(username: string, password: string, withoutDefaultRoles = false): Promise<string> {
    await this.call('POST', '/users', {
      username, email: `${username}@example.test`, emailVerified: true, enabled: true, firstName: 'Test', lastName: 'User',
      credentials: [{ type: 'password', value: password, temporary: false }],
    });
    const [user] = await this.call('GET', `/users?username=${encodeURIComponent(username)}&exact=true`);
    if (withoutDefaultRoles) {
      const defaultRole = await this.call('GET', '/roles/default-roles-fedgate');
      await this.call('DELETE', `/users/${user.id}/role-mappings/realm`, [defaultRole]);
    }
    return user.id as string;
  }
}

describe('Fedgate against a real Keycloak 26', { timeout: 900_000 }, () => {
  let idp: Record<string, string>;
  let env: Record<string, string>;
  let login: Service;
  let token: Service;
  let authz: Service;
  // a service of this run's own, so its bootstrap admin is decided here (the stack's has its own)
  const serviceName = `kc-${uniqueSuffix()}`;
  let admin: KeycloakAdmin;
  let untrust: (() => Promise<void>) | undefined;
  const passwords = new Map<string, string>();

  before(async () => {
    const started = runProjectScript('scripts/infra/keycloak.sh', ['start'], 900_000);
    assert.equal(started.status, 0, `keycloak.sh start: ${started.stderr}`);
    idp = parseEnvFile(readFileSync(idpEnvFile, 'utf8'));
    env = serviceEnvFor(idpEnvFile);
    // the test's own fetch (sign-in pages, admin API) trusts Keycloak's CA too
    untrust = await trustCertificateAuthorities([readFileSync(idp.FEDGATE_IDP_CA_FILE!, 'utf8')]);
    admin = new KeycloakAdmin(new URL(idp.FEDGATE_IDP_ISSUER!).origin);
    for (const user of ['alice', 'bob', 'carol']) passwords.set(user, process.env[`FEDGATE_IDP_${user.toUpperCase()}_PASSWORD`] ?? '');
    [login, token, authz] = await Promise.all([startService('login', env), startService('token', env), startService('authz', {
      ...env,
      FEDGATE_SERVICE_NAME: serviceName,
      // here the stack's SuperLink key acts for this run's own service (keys are scoped to their services)
      FEDGATE_API_KEYS: `${serviceName}:${env.FEDGATE_API_KEY_SHA256}:superlink:${serviceName}`,
    })]);
  });

  after(async () => {
    for (const service of [login, token, authz]) service?.process.kill('SIGTERM');
    await untrust?.();
    runProjectScript('scripts/infra/keycloak.sh', ['stop'], 120_000);
  });

  const call = (base: string, route: string, body: unknown) => postJson(stack, `${base}${route}`, body);
  const verify = (accessToken: string) => call(token.url, '/v1/verify', { access_token: accessToken });

  /** Device authorization at Fedgate, the person's sign-in and consent at Keycloak; answers the final poll. */
  async function deviceLogin(username: string, password = passwords.get(username)!) {
    const started = await call(login.url, '/v1/device/authorize', {});
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.match(started.body.verification_uri_complete, new RegExp(`^${idp.FEDGATE_IDP_ISSUER}/device\\?user_code=`));
    await approveKeycloakDeviceLogin({ issuer: idp.FEDGATE_IDP_ISSUER!, userCode: started.body.user_code, username, password });
    // poll as a client must: one interval apart, until the answer is no longer "pending"
    return waitFor('the device login to finish', async () => {
      await new Promise((r) => setTimeout(r, started.body.interval * 1000));
      const polled = await call(login.url, '/v1/device/token', { device_code: started.body.device_code });
      return polled.body.error === 'authorization_pending' ? undefined : polled;
    }, 60_000, 0);
  }

  async function loggedIn(username: string): Promise<TokenSetResponse> {
    const polled = await deviceLogin(username);
    assert.equal(polled.status, 200, JSON.stringify(polled.body));
    return polled.body as TokenSetResponse;
  }

  it('runs the services the way the stack would: Keycloak issuer, its CA by FEDGATE_OIDC_CA_FILE beside the stack CA, and no introspection for the public client', () => {
    assert.equal(env.FEDGATE_OIDC_ISSUER, idp.FEDGATE_IDP_ISSUER);
    assert.equal(env.FEDGATE_OIDC_CA_FILE, idp.FEDGATE_IDP_CA_FILE);
    assert.equal(env.NODE_EXTRA_CA_CERTS, stack.ca_cert, 'the stack CA stays where it was: no merged bundle');
    assert.notEqual(readFileSync(env.FEDGATE_OIDC_CA_FILE!, 'utf8'), readFileSync(stack.ca_cert, 'utf8'), "Keycloak's certificate comes from another CA");
    assert.equal(env.FEDGATE_OIDC_CLIENT_ID, 'fedgate-cli');
    assert.equal(env.FEDGATE_OIDC_CLIENT_SECRET, undefined);
    assert.equal(env.FEDGATE_ADMIN_FLWR_AID, undefined, "the dev IdP's bootstrap admin name is not a Keycloak account id");
    assert.equal(env.FEDGATE_ADMIN_LOGIN, 'alice');
  });

  it('signs a person in through Keycloak (sign-in and consent), and the token-service verifies the token', async () => {
    const tokens = await loggedIn('alice');
    assert.match(tokens.account.flwr_aid, /^[0-9a-f-]{36}$/, "Keycloak's sub is a UUID");
    assert.equal(tokens.account.account_name, 'alice');
    const verified = await verify(tokens.access_token);
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.active, true);
    assert.deepEqual(verified.body.account, tokens.account);
    assert.match(verified.body.scope, /offline_access/);
  });

  it("makes the bootstrap admin named by username (alice) admin at that account's first login, by its Keycloak account id", async () => {
    const tokens = await loggedIn('alice');
    const granted = await waitFor('the bootstrap grant', () =>
      withPg(stack.postgres.url, async (c) => (await c.query('SELECT flwr_aid FROM authz_bootstrap_grant WHERE service = $1', [serviceName])).rows), 30_000, 250);
    assert.deepEqual(granted, [{ flwr_aid: tokens.account.flwr_aid }]);
    // the grant is an ownership event: allowed once the projector has applied it
    await waitFor('alice to be admin', async () => (await call(authz.url, '/v1/check', { flwr_aid: tokens.account.flwr_aid, relation: 'admin', object: `service:${serviceName}` })).body.allowed === true, 30_000, 250);
    // bob signing in changes nothing: the name was resolved once
    const bob = await loggedIn('bob');
    const bobCheck = await call(authz.url, '/v1/check', { flwr_aid: bob.account.flwr_aid, relation: 'admin', object: `service:${serviceName}` });
    assert.equal(bobCheck.body.allowed, false);
  });

  it('refreshes; the rotated-out refresh token presented again revokes the session, and its tokens are refused', async () => {
    const tokens = await loggedIn('bob');
    const refreshed = await call(login.url, '/v1/token/refresh', { refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token, 'Keycloak rotates refresh tokens (revokeRefreshToken)');
    assert.equal((await verify(refreshed.body.access_token)).status, 200);

    const reuse = await call(login.url, '/v1/token/refresh', { refresh_token: tokens.refresh_token });
    assert.deepEqual([reuse.status, reuse.body.error], [400, 'invalid_grant']);
    assert.match(reuse.body.error_description, /already used/);
    await waitFor('the revoked session to reach the token-service', async () => (await verify(refreshed.body.access_token)).status === 401, 30_000, 250);
    const newest = await call(login.url, '/v1/token/refresh', { refresh_token: refreshed.body.refresh_token });
    assert.deepEqual([newest.status, newest.body.error], [400, 'invalid_grant'], 'the newest refresh token is dead too');
  });

  it('logs out: the session ends at Fedgate and Keycloak, its access token is refused', async () => {
    const tokens = await loggedIn('carol');
    assert.equal((await verify(tokens.access_token)).status, 200);
    const out = await call(login.url, '/v1/logout', { refresh_token: tokens.refresh_token, access_token: tokens.access_token });
    assert.ok(out.status === 200 || out.status === 204, JSON.stringify(out.body));
    await waitFor('the logged-out session to reach the token-service', async () => (await verify(tokens.access_token)).status === 401, 30_000, 250);
    const refresh = await call(login.url, '/v1/token/refresh', { refresh_token: tokens.refresh_token });
    assert.deepEqual([refresh.status, refresh.body.error], [400, 'invalid_grant']);
  });

  it('refuses an expired access token with expired_token', async () => {
    const client = await admin.client('fedgate-cli');
    const attributes = { ...client.attributes };
    // this client's access tokens live 5 s for the test (the realm's 5 min otherwise)
    await admin.call('PUT', `/clients/${client.id}`, { ...client, attributes: { ...attributes, 'access.token.lifespan': '5' } });
    try {
      const tokens = await loggedIn('alice');
      const expiresAt = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).exp as number;
      assert.ok(expiresAt - Date.now() / 1000 <= 6, 'a short-lived token');
      const expired = await waitFor('the access token to expire', async () => {
        const res = await verify(tokens.access_token);
        return res.status === 401 ? res : undefined;
      }, 60_000, 500);
      assert.equal(expired.body.error, 'expired_token', JSON.stringify(expired.body));
    } finally {
      await admin.call('PUT', `/clients/${client.id}`, { ...client, attributes });
    }
  });

  it("passes Keycloak's own reason on when it refuses offline_access to a user without that role (not just not_allowed)", async () => {
    const username = `dave-${uniqueSuffix()}`;
    const password = `pw-${uniqueSuffix()}`;
    await admin.createUser(username, password, true);
    let polled;
    try {
      polled = await deviceLogin(username, password);
    } catch (err) {
      // Keycloak may refuse at its consent step instead: then the poll never ends in tokens either
      assert.fail(`the sign-in did not reach Fedgate's poll: ${(err as Error).message}`);
    }
    assert.equal(polled.status, 400, JSON.stringify(polled.body));
    assert.equal(polled.body.error, 'invalid_grant');
    assert.match(polled.body.error_description, /Offline tokens not allowed/, 'Keycloak’s error_description reaches the person');
    assert.match(polled.body.error_description, /offline_access role, or set FEDGATE_OIDC_SCOPE/, 'with what to do about it');
  });

  it('refuses a login at once when the Keycloak client has no audience mapper, saying how to fix the realm', async () => {
    const client = await admin.client('fedgate-cli');
    const mapper = (client.protocolMappers as any[]).find((m) => m.protocolMapper === 'oidc-audience-mapper');
    assert.ok(mapper, 'the realm file has the audience mapper');
    await admin.call('DELETE', `/clients/${client.id}/protocol-mappers/models/${mapper.id}`);
    try {
      const polled = await deviceLogin('bob');
      assert.equal(polled.status, 400, `no tokens for a login whose tokens every verify would refuse: ${JSON.stringify(polled.body)}`);
      assert.equal(polled.body.error, 'invalid_grant');
      assert.match(polled.body.error_description, /lacks "https:\/\/fedgate\.local\/api"/);
      assert.match(polled.body.error_description, /audience mapper/);
    } finally {
      const { id: _id, ...recreate } = mapper;
      await admin.call('POST', `/clients/${client.id}/protocol-mappers/models`, recreate);
    }
  });

  it('answers garbage tokens 401, never 503, although FEDGATE_OIDC_CLIENT_ID is set (no introspection as a public client)', async () => {
    for (const garbage of ['garbage', 'x'.repeat(64), 'not.a.jwt', 'eyJhbGciOiJub25lIn0.e30.']) {
      const res = await verify(garbage);
      assert.equal(res.status, 401, `${garbage.slice(0, 20)}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.active, false);
    }
  });

  it("Flower 1.22's own `flwr login` (and `flwr ls`) through a SuperLink whose Fedgate plugins use the Keycloak-backed services", async () => {
    // the SuperLink of scripts/infra/superlink.sh, in a state dir of its own whose stack file
    // names this pair (and this run's service, where alice is the bootstrap admin)
    const superlinkState = mkdtempSync(path.join(os.tmpdir(), 'fedgate-kc-superlink-'));
    cpSync(path.dirname(stack.ca_cert), path.join(superlinkState, 'tls'), { recursive: true });
    cpSync(path.join(state, 'secrets.env'), path.join(superlinkState, 'secrets.env'));
    writeFileSync(path.join(superlinkState, 'stack.json'), JSON.stringify({ ...stack, services: { ...stack.services, login: login.url, token: token.url, authz: authz.url }, service_name: serviceName }));
    // flwr 1.22: its pyproject federation form and gRPC Control API (the stack's default is the newest)
    const superlinkEnv = { ...process.env, FEDGATE_STATE_DIR: superlinkState, SUPERLINK_ISOLATION: 'process', SUPERLINK_EXECUTOR: 'none', FEDGATE_FLWR_VERSION: '1.22.0' };
    const superlink = (verb: string) => spawnSync('bash', [path.join(root, 'scripts/infra/superlink.sh'), verb], { cwd: root, encoding: 'utf8', env: superlinkEnv, timeout: 600_000 });
    const venv = spawnSync('bash', [path.join(root, 'scripts/infra/flwr.sh'), 'ensure'], { encoding: 'utf8', env: superlinkEnv, timeout: 900_000 }).stdout.trim();
    const up = superlink('start');
    try {
      assert.equal(up.status, 0, up.stderr);
      const controlPort = /Control API at 127\.0\.0\.1:(\d+)/.exec(up.stderr)?.[1];
      assert.ok(controlPort, up.stderr);
      const app = path.join(superlinkState, 'app');
      mkdirSync(path.join(app, 'kcapp'), { recursive: true });
      writeFileSync(path.join(app, 'kcapp/__init__.py'), '');
      writeFileSync(path.join(app, 'kcapp/server_app.py'), 'from flwr.serverapp import ServerApp\n\napp = ServerApp()\n');
      writeFileSync(path.join(app, 'kcapp/client_app.py'), 'from flwr.clientapp import ClientApp\n\napp = ClientApp()\n');
      writeFileSync(path.join(app, 'pyproject.toml'), [
        '[build-system]', 'requires = ["hatchling"]', 'build-backend = "hatchling.build"', '',
        '[project]', 'name = "fedgate-keycloak"', 'version = "1.0.0"', 'description = "flwr login against Keycloak"', 'license = "Apache-2.0"', 'authors = [{ name = "Fedgate" }]', 'dependencies = []', '',
        '[tool.hatch.build.targets.wheel]', 'packages = ["."]', '',
        '[tool.flwr.app]', 'publisher = "fedgate"', '',
        '[tool.flwr.app.components]', 'serverapp = "kcapp.server_app:app"', 'clientapp = "kcapp.client_app:app"', '',
        '[tool.flwr.federations]', 'default = "keycloak"', '',
        '[tool.flwr.federations.keycloak]', `address = "127.0.0.1:${controlPort}"`, `root-certificates = "${stack.ca_cert}"`, 'enable-user-auth = true', '',
      ].join('\n'));
      const flwrEnv = { ...process.env, HOME: superlinkState, NO_COLOR: '1' };
      const child = spawn(path.join(venv, 'bin/flwr'), ['login', '.'], { cwd: app, env: flwrEnv });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
      try {
        const userCode = await waitFor('the verification URL from flwr login', () => /[?&]user_code=([A-Za-z0-9-]+)/.exec(out)?.[1], 90_000, 100);
        assert.match(out, new RegExp(`${idp.FEDGATE_IDP_ISSUER}/device`), 'flwr shows Keycloak’s verification page');
        await approveKeycloakDeviceLogin({ issuer: idp.FEDGATE_IDP_ISSUER!, userCode, username: 'alice', password: passwords.get('alice')! });
        const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-2), 90_000))]);
        assert.equal(code, 0, `flwr login:\n${out}`);
        assert.match(out, /Login successful/);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      const ls = spawnSync(path.join(venv, 'bin/flwr'), ['ls', '.'], { cwd: app, env: flwrEnv, encoding: 'utf8', timeout: 120_000 });
      assert.equal(ls.status, 0, `flwr ls as alice (admin of service:${serviceName}):\n${ls.stdout}${ls.stderr}`);
    } finally {
      superlink('stop');
      rmSync(superlinkState, { recursive: true, force: true });
    }
  });
});

// The flower end-to-end scenario (issues #7 and #15), once per supported Flower line that CI
// covers: the newest (FLWR_VERSION in infra/stack.env, 1.42: HTTP Control API, connections in
// FLWR_HOME/config.toml, tokens in FLWR_HOME/credentials.yaml, authorization through the
// FederationManager) and 1.22 (gRPC Control API, `enable-user-auth` federations in the app's
// pyproject.toml, tokens in APP/.flwr/.credentials/<federation>.json). Each run starts the real
// SuperLink of that release with Fedgate's plugins and drives the real `flwr` CLI of the same
// release: login, run, ls, stop, log as alice, bob and carol; sharing with alice's own token;
// a transparent refresh of an expired access token; and the audit log of all of it, by actor.
// The stack, the IdP users and the service grants are set up once for both runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { StackFile } from '@fedgate/contracts';
import { authTypeKeyOf, credentialStoreContent, flwrCredentialsFileContent } from '@fedgate/flwr-config';
import { readStackFile } from '@fedgate/stack';
import { parseEnvFile, repoRoot, runProjectScript, waitFor } from '@fedgate/testing';
import { exec, startSuperlink, type Result } from './superlink.testing';

const root = repoRoot();
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const stackEnv = parseEnvFile(readFileSync(path.join(root, 'infra/stack.env'), 'utf8'));
const controlPort = Number(stackEnv.SUPERLINK_CONTROL_PORT) + Number(process.env.FEDGATE_PORT_OFFSET ?? 0);
const CONNECTION = 'fedgate';
/** The releases CI runs the scenario with: the newest supported and the oldest line kept. */
const VERSIONS = (process.env.FEDGATE_FLOWER_E2E_VERSIONS ?? `${stackEnv.FLWR_VERSION},1.22.0`).split(',').filter(Boolean);
const started = Date.now();
const suiteSince = new Date(started - 1000).toISOString();

/** Run ids as printed: uint64 values lose digits as JavaScript numbers, so never through JSON.parse. */
function runIdsIn(jsonText: string): string[] {
  return [...jsonText.matchAll(/"run-id":\s*"?(\d+)/g)].map((m) => m[1]!);
}

let stack: StackFile;

async function rest(method: string, url: string, body?: unknown, auth: { key?: string; bearer?: string } = { key: stack.admin_api_key }): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth.key) headers['x-fedgate-key'] = auth.key;
  if (auth.bearer) headers.authorization = `Bearer ${auth.bearer}`;
  const request = () => fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  // a pooled keep-alive socket the server closed while flwr commands ran: one retry on a new
  // connection (every call here is idempotent)
  const res = await request().catch((err: Error & { cause?: { code?: string } }) => {
    if (err.cause?.code === 'UND_ERR_SOCKET') return request();
    throw err;
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * How one Flower line is driven: where its CLI finds the SuperLink and keeps the tokens, how
 * its commands name the connection, and what it prints for a refusal.
 */
interface FlowerLine {
  /** flwr 1.26+: config.toml + credentials.yaml in FLWR_HOME; before: the app's pyproject.toml + .flwr/.credentials */
  configToml: boolean;
  target(app: string): string[];
  /** what the CLI prints when Fedgate denies a run relation */
  runDenied(relation: string): RegExp;
  /** what a person without access to the SuperLink gets */
  notAMember: RegExp;
}

function lineOf(version: string): FlowerLine {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  if (major > 1 || minor >= 26) {
    return {
      configToml: true,
      target: () => [CONNECTION],
      runDenied: (relation) => new RegExp(`${relation} denied by Fedgate`),
      notAMember: /Federation not found, archived, or you cannot perform this action/,
    };
  }
  return {
    configToml: false,
    target: () => ['.'],
    runDenied: (relation) => new RegExp(`Permission denied[\\s\\S]*${relation} denied`),
    // flwr 1.22 says "User", 1.23 "Account"
    notAMember: /(User|Account) not authorized\. Please contact the SuperLink administrator/,
  };
}

describe('flwr login / run / ls against a SuperLink authorized by Fedgate', () => {
  before(async () => {
    stack = readStackFile();
    // access, once for both releases: alice is the bootstrap service admin (admin implies
    // has_access; granting her `member` would replace that role), bob becomes a member, carol has no role
    assert.equal(stack.admin_flwr_aid, 'alice', 'the scenario acts as the bootstrap admin alice');
    const grant = await rest('PUT', `${stack.services.authz}/v1/services/${stack.service_name}/members/bob`, { role: 'member' });
    assert.equal(grant.status, 200, `granting bob has_access: ${JSON.stringify(grant.body)}`);
    const revoke = await rest('DELETE', `${stack.services.authz}/v1/services/${stack.service_name}/members/carol`);
    assert.ok([200, 404].includes(revoke.status), `removing carol: ${JSON.stringify(revoke.body)}`);
  });

  after(async () => {
    // leave the shared stack as found: bob's grant must not leak into other suites (authz-service's assume he has no access)
    if (stack) {
      const revoke = await rest('DELETE', `${stack.services.authz}/v1/services/${stack.service_name}/members/bob`).catch((err: Error) => ({ status: -1, body: err.message }));
      if (revoke.status !== 200) console.log(`# could not revoke bob's access: ${JSON.stringify(revoke)}`);
    }
    console.log(`# flower e2e (${VERSIONS.join(', ')}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  for (const version of VERSIONS) describe(`flwr ${version}`, () => scenario(version));

  it('keeps both runs under 10 minutes (5 each, as the single run was)', () => {
    assert.ok(Date.now() - started < 600_000, `took ${(Date.now() - started) / 1000} s`);
  });
});

function scenario(version: string): void {
  const line = lineOf(version);
  const since = new Date(Date.now() - 1000).toISOString();
  let venv = '';
  let work = '';
  let runId = '';
  const apps: Record<string, string> = {};

  /** Each person has their own FLWR_HOME: flwr 1.26+ keeps one token per SuperLink address there. */
  const envOf = (user: string): NodeJS.ProcessEnv => ({
    ...process.env,
    PATH: `${path.join(venv, 'bin')}:${process.env.PATH}`,
    FLWR_HOME: path.join(work, user, 'flwr-home'),
    FLWR_TELEMETRY_ENABLED: '0',
    NO_COLOR: '1',
    COLUMNS: '200',
  });

  function flwr(user: string, args: string[], timeoutMs = 60_000): Promise<Result> {
    return exec(path.join(venv, 'bin/flwr'), args, { cwd: apps[user], env: envOf(user), timeoutMs });
  }

  /** A minimal Flower app; its connection to the SuperLink (TLS, account auth) where this release reads it. */
  function createApp(user: string): void {
    const dir = path.join(work, user, 'app');
    mkdirSync(path.join(dir, 'e2eapp'), { recursive: true });
    const legacyFederation = `
[tool.flwr.federations]
default = "${CONNECTION}"

[tool.flwr.federations.${CONNECTION}]
address = "127.0.0.1:${controlPort}"
root-certificates = "${stack.ca_cert}"
enable-user-auth = true
`;
    writeFileSync(
      path.join(dir, 'pyproject.toml'),
      `[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "fedgate-e2e"
version = "1.0.0"
description = "Minimal Flower app of the Fedgate end-to-end test"
license = "Apache-2.0"
authors = [{ name = "Fedgate" }]
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "fedgate"

[tool.flwr.app.components]
serverapp = "e2eapp.server_app:app"
clientapp = "e2eapp.client_app:app"
${line.configToml ? '' : legacyFederation}`,
    );
    writeFileSync(path.join(dir, 'e2eapp/__init__.py'), '');
    writeFileSync(path.join(dir, 'e2eapp/server_app.py'), 'from flwr.serverapp import ServerApp\n\napp = ServerApp()\n');
    writeFileSync(path.join(dir, 'e2eapp/client_app.py'), 'from flwr.clientapp import ClientApp\n\napp = ClientApp()\n');
    const home = path.join(work, user, 'flwr-home');
    mkdirSync(home, { recursive: true });
    if (line.configToml) {
      writeFileSync(
        path.join(home, 'config.toml'),
        `[superlink]\ndefault = "${CONNECTION}"\n\n[superlink.${CONNECTION}]\naddress = "127.0.0.1:${controlPort}"\nroot-certificates = "${stack.ca_cert}"\n`,
      );
    }
    apps[user] = dir;
  }

  const host = `127.0.0.1:${controlPort}`;
  const yamlKey = (what: string) => `flower.account-auth.${host}.${what}`;
  const credentialsFile = (user: string) =>
    line.configToml ? path.join(work, user, 'flwr-home', 'credentials.yaml') : path.join(apps[user]!, '.flwr/.credentials', `${CONNECTION}.json`);

  /** The tokens flwr stored for this user: { access, refresh, authnType }. */
  function tokens(user: string): { access: string; refresh: string; authnType: string } {
    const text = readFileSync(credentialsFile(user), 'utf8');
    if (line.configToml) {
      const store = parseYaml(text) as Record<string, string>;
      const decode = (what: string) => Buffer.from(store[yamlKey(what)] ?? '', 'base64').toString('utf8');
      return { access: decode('oidc-access-token'), refresh: decode('oidc-refresh-token'), authnType: decode('authn-type') };
    }
    const creds = JSON.parse(text) as Record<string, string>;
    return { access: creds['flwr-oidc-access-token']!, refresh: creds['flwr-oidc-refresh-token']!, authnType: creds['auth-type'] ?? creds['authn-type']! };
  }

  function storeAccessToken(user: string, access: string): void {
    const file = credentialsFile(user);
    const text = readFileSync(file, 'utf8');
    if (line.configToml) {
      const store = parseYaml(text) as Record<string, string>;
      store[yamlKey('oidc-access-token')] = Buffer.from(access).toString('base64');
      writeFileSync(file, stringifyYaml(store));
    } else {
      writeFileSync(file, JSON.stringify({ ...(JSON.parse(text) as object), 'flwr-oidc-access-token': access }, null, 4));
    }
  }

  /**
   * The real `flwr login` (or `fedgate login`, which must write what this flwr reads: it finds
   * the release by `flwr --version` on PATH), approved at the dev IdP by the real `fedgate dev approve`.
   */
  async function login(user: string, via: 'flwr' | 'fedgate' = 'flwr'): Promise<void> {
    const password = stack.idp.users.find((u) => u.username === user)?.password;
    assert.ok(password, `${user} is not a dev IdP user in stack.json (restart the stack to pick up new users)`);
    const child =
      via === 'flwr'
        ? spawn(path.join(venv, 'bin/flwr'), ['login', ...line.target(apps[user]!)], { cwd: apps[user], env: envOf(user) })
        : spawn(process.execPath, [path.join(root, 'apps/cli/bin/fedgate.js'), 'login', ...(line.configToml ? [] : ['.']), '--no-qr'], {
            cwd: apps[user],
            env: { ...envOf(user), NODE_EXTRA_CA_CERTS: stack.ca_cert, FEDGATE_STACK_FILE: path.join(state, 'stack.json') },
          });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    try {
      const userCode = await waitFor(`the verification URL from flwr login (${user})`, () => /[?&]user_code=([A-Za-z0-9-]+)/.exec(out)?.[1], 60_000, 100);
      const approved = await exec(process.execPath, [path.join(root, 'apps/cli/bin/fedgate.js'), 'dev', 'approve', '--user-code', userCode, '--username', user, '--password', password], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.ca_cert },
      });
      assert.equal(approved.code, 0, approved.out);
      const code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-2), 90_000))]);
      assert.equal(code, 0, `flwr login as ${user}:\n${out}`);
      assert.match(out, /Login successful/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  async function listedRunIds(user: string): Promise<string[]> {
    const result = await flwr(user, ['ls', ...line.target(apps[user]!), '--format', 'json']);
    const json = JSON.parse(result.out.slice(result.out.indexOf('{'))) as { success: boolean };
    assert.equal(json.success, true, `flwr ls as ${user}: ${result.out}`);
    return runIdsIn(result.out);
  }

  before(async () => {
    // process isolation and no ServerApp executor: runs stay pending, which is all this test
    // needs (serverapp-isolation.integration.ts runs one)
    venv = startSuperlink(version, { SUPERLINK_ISOLATION: 'process', SUPERLINK_EXECUTOR: 'none' });
    work = mkdtempSync(path.join(os.tmpdir(), `fedgate-flower-e2e-${version}-`));
    for (const user of ['alice', 'bob', 'carol']) createApp(user);
  });

  after(() => {
    runProjectScript('scripts/infra/superlink.sh', ['stop']);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('1. alice logs in with flwr (credentials written by flwr, byte for byte what fedgate login writes), runs an app and lists it', async () => {
    await login('alice');
    const stored = tokens('alice');
    assert.equal(stored.authnType, 'oidc');
    assert.ok(stored.access && stored.refresh);
    const written = readFileSync(credentialsFile('alice'), 'utf8');
    const ours = line.configToml
      ? credentialStoreContent(parseYaml(written) as Record<string, string>)
      : flwrCredentialsFileContent({ accessToken: stored.access, refreshToken: stored.refresh }, authTypeKeyOf(version));
    assert.equal(ours, written, `fedgate login writes exactly what flwr ${version} login wrote`);
    if (!line.configToml) {
      assert.deepEqual(readFileSync(path.join(apps.alice!, '.flwr/.gitignore'), 'utf8').split('\n').filter(Boolean), ['.credentials']);
    }

    const run = await flwr('alice', ['run', '.', ...(line.configToml ? [CONNECTION] : []), '--format', 'json'], 120_000);
    const answer = JSON.parse(run.out.slice(run.out.indexOf('{'))) as { success: boolean };
    assert.equal(answer.success, true, run.out);
    runId = runIdsIn(run.out)[0] ?? '';
    assert.match(runId, /^\d+$/);
    assert.ok((await listedRunIds('alice')).includes(runId), 'alice sees her run');
  });

  it("2. bob (has_access) neither sees nor stops nor reads alice's run; carol is refused everything", async () => {
    assert.ok(runId, 'needs the run of step 1');
    await login('bob', 'fedgate'); // flwr uses the credentials `fedgate login` wrote
    assert.ok(!(await listedRunIds('bob')).includes(runId), "bob does not see alice's run");
    const stop = await flwr('bob', ['stop', runId, ...line.target(apps.bob!)]);
    assert.match(stop.out, line.runDenied('can_stop'), stop.out);
    const logs = await flwr('bob', ['log', runId, ...line.target(apps.bob!), '--show']);
    assert.match(logs.out, line.runDenied('can_read_logs'), logs.out);
    assert.ok((await listedRunIds('alice')).includes(runId), 'still there for alice');

    await login('carol'); // the login itself works: carol is a real user, just without access
    const target = line.target(apps.carol!);
    for (const args of [['ls', ...target], ['run', '.', ...(line.configToml ? [CONNECTION] : [])], ['stop', runId, ...target], ['log', runId, ...target, '--show']]) {
      const denied = await flwr('carol', args, 120_000);
      assert.match(denied.out, line.notAMember, `carol: flwr ${args.join(' ')}:\n${denied.out}`);
    }
  });

  it("3. alice shares the run with bob as viewer via the fedgate CLI, with her own login: bob sees it, still cannot stop it; bob's login cannot share it", async () => {
    assert.ok(runId, 'needs the run of step 1');
    // the person's own credentials, where this flwr keeps them (the CLI finds the release by `flwr --version`)
    const fedgate = (user: string, args: string[]) =>
      exec(process.execPath, [path.join(root, 'apps/cli/bin/fedgate.js'), 'authz', ...args, '--app', apps[user]!], {
        env: { ...envOf(user), NODE_EXTRA_CA_CERTS: stack.ca_cert, FEDGATE_STACK_FILE: path.join(state, 'stack.json'), FEDGATE_API_KEY: '' },
      });
    // bob, with the credentials his own login wrote, may not share alice's run
    const bobShares = await fedgate('bob', ['share', runId, 'bob', '--role', 'operator']);
    assert.notEqual(bobShares.code, 0);
    assert.match(bobShares.out, /forbidden/);
    const share = await fedgate('alice', ['share', runId, 'bob', '--role', 'viewer']);
    assert.equal(share.code, 0, `fedgate authz share:\n${share.out}`);
    const members = await fedgate('alice', ['members', '--run', runId]);
    assert.equal(members.code, 0, members.out);
    assert.deepEqual(members.out.trim().split('\n'), ['owner\talice', 'viewer\tbob']);
    await waitFor('bob to see the shared run', async () => (await listedRunIds('bob')).includes(runId), 20_000, 500);
    const stop = await flwr('bob', ['stop', runId, ...line.target(apps.bob!)]);
    assert.match(stop.out, line.runDenied('can_stop'), stop.out);
  });

  it('4. an expired access token is refreshed transparently on the next command', async () => {
    const { access } = tokens('alice');
    // alice's own token, expired a minute ago and signed by the IdP's real key: a genuine expiry, not a forgery the verifier would reject as invalid
    const [headerPart, payloadPart] = access.split('.');
    const header = JSON.parse(Buffer.from(headerPart!, 'base64url').toString()) as { alg: string; kid: string; typ?: string };
    const claims = JSON.parse(Buffer.from(payloadPart!, 'base64url').toString()) as Record<string, unknown>;
    const jwks = JSON.parse(readFileSync(path.join(state, 'data/dev-idp/jwks.json'), 'utf8')) as { keys: JWK[] };
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, 'the signing key of alice token is in the dev IdP jwks');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 360, exp: now - 60 })
      .setProtectedHeader({ alg: header.alg, kid: header.kid, ...(header.typ ? { typ: header.typ } : {}) })
      .sign(await importJWK(jwk, header.alg));
    const verdict = await rest('POST', `${stack.services.token}/v1/verify`, { access_token: expired }, { key: stack.api_key });
    assert.equal(verdict.status, 401);
    assert.equal(verdict.body.error, 'expired_token', 'token-service sees an expired (not an invalid) token');
    storeAccessToken('alice', expired);

    assert.ok((await listedRunIds('alice')).includes(runId), 'the command succeeds without a new login');
    const renewed = tokens('alice').access;
    assert.notEqual(renewed, expired, 'flwr stored the refreshed access token');
    const fresh = await rest('POST', `${stack.services.token}/v1/verify`, { access_token: renewed }, { key: stack.api_key });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.account.flwr_aid, 'alice');
  });

  it('5. the audit log has the logins, verifications and every decision, by actor, and the run with its federation', async () => {
    // run ids are unique per service: the log names the run in its service
    const object = `run:${stack.service_name}/${runId}`;
    type AuditEvent = { type: string; action: string; outcome: string; object: string | null; actor: { flwr_aid: string | null }; data?: Record<string, unknown> };
    // the operator's grant of the suite's setup is older than this release's run
    const eventsOf = async (actor: string): Promise<AuditEvent[]> => {
      const from = actor.startsWith('key:') ? suiteSince : since;
      const res = await rest('GET', `${stack.services.audit}/v1/events?actor=${actor}&since=${encodeURIComponent(from)}&limit=500`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.events as AuditEvent[];
    };
    const service = `service:${stack.service_name}`;
    const expectations: Record<string, Array<[string, string | null, string]>> = {
      alice: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', service, 'success'],
        ['run.register', object, 'success'],
        ['check.can_view', object, 'success'],
        ['run.share', object, 'success'],
        ['token.refresh', null, 'success'],
      ],
      'key:operator': [['access.grant', `service:${stack.service_name}`, 'success']],
      bob: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', service, 'success'],
        ['check.can_stop', object, 'denied'],
        ['check.can_read_logs', object, 'denied'],
        ['check.can_view', object, 'success'],
        ['run.share', object, 'denied'],
      ],
      carol: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', service, 'denied'],
      ],
    };
    for (const [actor, wanted] of Object.entries(expectations)) {
      await waitFor(`the audit events of ${actor}`, async () => {
        const events = await eventsOf(actor);
        assert.ok(events.every((e) => e.actor.flwr_aid === actor), 'filtered by actor');
        const missing = wanted.filter(([action, obj, outcome]) => !events.some((e) => e.action === action && e.outcome === outcome && (obj === null || e.object === obj)));
        if (missing.length > 0) throw new Error(`missing for ${actor}: ${JSON.stringify(missing)}`);
        return true;
      }, 20_000, 500);
    }
    const alice = await eventsOf('alice');
    if (line.configToml) {
      // Flower 1.42 names the run's federation; Fedgate stores it with the run and the audit log shows it
      const registered = alice.find((e) => e.action === 'run.register' && e.object === object);
      assert.equal(registered?.data?.federation, '@none/default', JSON.stringify(registered));
    }
    // nothing in the log carries a token
    const text = JSON.stringify(alice);
    const { access, refresh } = tokens('alice');
    for (const secret of [access, refresh]) assert.ok(!text.includes(secret), 'no token in the audit log');
  });
}

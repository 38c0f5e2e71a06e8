// Issue #7 end to end: a real Flower SuperLink (flwr 1.22, TLS with the stack's CA) with
// Fedgate's plugins, driven by the real `flwr` CLI in throwaway Flower apps whose
// federation has `enable-user-auth = true` — login, run, ls, stop, log as alice, bob and
// carol; sharing through the `fedgate` CLI; a transparent refresh of an expired access
// token; and the audit log of all of it, by actor.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import type { StackFile } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { parseEnvFile, repoRoot, runProjectScript, waitFor } from '@fedgate/testing';

const root = repoRoot();
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const stackEnv = parseEnvFile(readFileSync(path.join(root, 'infra/stack.env'), 'utf8'));
const controlPort = Number(stackEnv.SUPERLINK_CONTROL_PORT) + Number(process.env.FEDGATE_PORT_OFFSET ?? 0);
const FEDERATION = 'fedgate';
// flwr 1.22 says "User", 1.23 "Account"
const NOT_AUTHORIZED = /(User|Account) not authorized\. Please contact the SuperLink administrator/;

/** Run ids as printed: uint64 values lose digits as JavaScript numbers, so never through JSON.parse. */
function runIdsIn(jsonText: string): string[] {
  return [...jsonText.matchAll(/"run-id":\s*"?(\d+)/g)].map((m) => m[1]!);
}

interface Result {
  code: number;
  out: string;
}

function exec(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe('flwr login / run / ls against a SuperLink authorized by Fedgate', () => {
  let stack: StackFile;
  let venv = '';
  let flwrEnv: NodeJS.ProcessEnv = {};
  let work = '';
  let startedSuperlink = false;
  const since = new Date(Date.now() - 1000).toISOString();
  const started = Date.now();
  const apps: Record<string, string> = {};
  let runId = '';

  // the operator's key (authz-admin + audit-reader): the test's own setup and audit reads; the
  // SuperLink holds its own key (role superlink), the people their own tokens
  const fedgateKeyHeaders = () => ({ 'content-type': 'application/json', 'x-fedgate-key': stack.admin_api_key });

  async function rest(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
    const request = () => fetch(url, { method, headers: fedgateKeyHeaders(), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    // a pooled keep-alive socket the server closed while flwr commands ran: one retry on a
    // new connection (every call here is idempotent)
    const res = await request().catch((err: Error & { cause?: { code?: string } }) => {
      if (err.cause?.code === 'UND_ERR_SOCKET') return request();
      throw err;
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  function flwr(user: string, args: string[], timeoutMs = 60_000): Promise<Result> {
    return exec(path.join(venv, 'bin/flwr'), [...args], { cwd: apps[user], env: flwrEnv, timeoutMs });
  }

  /** A minimal Flower app whose federation uses the SuperLink with user auth over TLS. */
  function createApp(user: string): string {
    const dir = path.join(work, user);
    mkdirSync(path.join(dir, 'e2eapp'), { recursive: true });
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

[tool.flwr.federations]
default = "${FEDERATION}"

[tool.flwr.federations.${FEDERATION}]
address = "127.0.0.1:${controlPort}"
root-certificates = "${stack.ca_cert}"
enable-user-auth = true
`,
    );
    writeFileSync(path.join(dir, 'e2eapp/__init__.py'), '');
    writeFileSync(path.join(dir, 'e2eapp/server_app.py'), 'from flwr.serverapp import ServerApp\n\napp = ServerApp()\n');
    writeFileSync(path.join(dir, 'e2eapp/client_app.py'), 'from flwr.clientapp import ClientApp\n\napp = ClientApp()\n');
    apps[user] = dir;
    return dir;
  }

  const credentialsFile = (user: string) => path.join(apps[user]!, '.flwr/.credentials', `${FEDERATION}.json`);
  const credentials = (user: string) => JSON.parse(readFileSync(credentialsFile(user), 'utf8')) as Record<string, string>;

  /** The real `flwr login`, approved at the dev IdP by the real `fedgate dev approve`. */
  async function login(user: string): Promise<void> {
    const password = stack.idp.users.find((u) => u.username === user)?.password;
    assert.ok(password, `${user} is not a dev IdP user in stack.json (restart the stack to pick up new users)`);
    const child = spawn(path.join(venv, 'bin/flwr'), ['login', '.'], { cwd: apps[user], env: flwrEnv });
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
    const result = await flwr(user, ['ls', '.', '--format', 'json']);
    const json = JSON.parse(result.out.slice(result.out.indexOf('{'))) as { success: boolean };
    assert.equal(json.success, true, `flwr ls as ${user}: ${result.out}`);
    return runIdsIn(result.out);
  }

  async function grantAccess(user: string): Promise<void> {
    const res = await rest('PUT', `${stack.services.authz}/v1/services/${stack.service_name}/members/${user}`, { role: 'member' });
    assert.equal(res.status, 200, `granting ${user} has_access: ${JSON.stringify(res.body)}`);
  }

  before(async () => {
    stack = readStackFile();
    const ensured = runProjectScript('scripts/infra/flwr.sh', ['ensure'], 600_000);
    assert.equal(ensured.status, 0, ensured.stderr);
    venv = ensured.stdout.trim().split('\n').pop()!;
    work = mkdtempSync(path.join(os.tmpdir(), 'fedgate-flower-e2e-'));
    flwrEnv = { ...process.env, PATH: `${path.join(venv, 'bin')}:${process.env.PATH}`, FLWR_HOME: path.join(work, 'flwr-home'), FLWR_TELEMETRY_ENABLED: '0', NO_COLOR: '1', COLUMNS: '200' };
    for (const user of ['alice', 'bob', 'carol']) createApp(user);

    if (runProjectScript('scripts/infra/superlink.sh', ['status']).status !== 0) {
      // process isolation: runs stay pending without SuperNodes, which is all this test needs
      process.env.SUPERLINK_ISOLATION = 'process';
      const start = runProjectScript('scripts/infra/superlink.sh', ['start'], 300_000);
      delete process.env.SUPERLINK_ISOLATION;
      assert.equal(start.status, 0, `superlink start:\n${start.stderr}`);
      startedSuperlink = true;
    }
    // access: alice is the bootstrap service admin (admin implies has_access; granting her
    // `member` would replace that role), bob becomes a member, carol has no role
    assert.equal(stack.admin_flwr_aid, 'alice', 'the scenario acts as the bootstrap admin alice');
    await grantAccess('bob');
    const revoke = await rest('DELETE', `${stack.services.authz}/v1/services/${stack.service_name}/members/carol`);
    assert.ok([200, 404].includes(revoke.status), `removing carol: ${JSON.stringify(revoke.body)}`);
  });

  after(async () => {
    // leave the shared stack as found: bob's grant must not leak into other suites (authz-service's assume he has no access)
    if (stack) {
      const revoke = await rest('DELETE', `${stack.services.authz}/v1/services/${stack.service_name}/members/bob`).catch((err: Error) => ({ status: -1, body: err.message }));
      if (revoke.status !== 200) console.log(`# could not revoke bob's access: ${JSON.stringify(revoke)}`);
    }
    if (startedSuperlink) runProjectScript('scripts/infra/superlink.sh', ['stop']);
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`# flower e2e: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('1. alice logs in with flwr (credentials and .gitignore written by flwr), runs an app and lists it', async () => {
    await login('alice');
    const creds = credentials('alice');
    assert.equal(creds['auth-type'] ?? creds['authn-type'], 'oidc'); // the key flwr 1.22 / 1.23 writes
    assert.ok(creds['flwr-oidc-access-token'] && creds['flwr-oidc-refresh-token']);
    assert.equal(readFileSync(credentialsFile('alice'), 'utf8'), JSON.stringify(creds, null, 4), 'the file is as flwr writes it');
    assert.deepEqual(readFileSync(path.join(apps.alice!, '.flwr/.gitignore'), 'utf8').split('\n').filter(Boolean), ['.credentials']);

    const run = await flwr('alice', ['run', '.', '--format', 'json'], 120_000);
    const answer = JSON.parse(run.out.slice(run.out.indexOf('{'))) as { success: boolean };
    assert.equal(answer.success, true, run.out);
    runId = runIdsIn(run.out)[0] ?? '';
    assert.match(runId, /^\d+$/);
    assert.ok((await listedRunIds('alice')).includes(runId), 'alice sees her run');
  });

  it("2. bob (has_access) neither sees nor stops nor reads alice's run; carol is not authorized at all", async () => {
    assert.ok(runId, 'needs the run of step 1');
    await login('bob');
    assert.ok(!(await listedRunIds('bob')).includes(runId), "bob does not see alice's run");
    const stop = await flwr('bob', ['stop', runId, '.']);
    assert.match(stop.out, /Permission denied/);
    assert.match(stop.out, /can_stop denied/);
    const logs = await flwr('bob', ['log', runId, '.', '--show']);
    assert.match(logs.out, /Permission denied/);
    assert.match(logs.out, /can_read_logs denied/);
    assert.ok((await listedRunIds('alice')).includes(runId), 'still running for alice');

    await login('carol'); // the login itself works: carol is a real user, just without access
    for (const args of [['ls', '.'], ['run', '.'], ['stop', runId, '.'], ['log', runId, '.', '--show']]) {
      const denied = await flwr('carol', args, 120_000);
      assert.match(denied.out, NOT_AUTHORIZED, `carol: flwr ${args.join(' ')}:\n${denied.out}`);
    }
  });

  it("3. alice shares the run with bob as viewer via the fedgate CLI, with her own flwr login: bob sees it, still cannot stop it; bob's login cannot share it", async () => {
    assert.ok(runId, 'needs the run of step 1');
    const fedgate = (user: string, args: string[]) =>
      exec(process.execPath, [path.join(root, 'apps/cli/bin/fedgate.js'), 'authz', ...args, '--app', apps[user]!], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.ca_cert, FEDGATE_STACK_FILE: path.join(state, 'stack.json'), FEDGATE_API_KEY: '' },
      });
    // bob, with the credentials his own `flwr login` wrote, may not share alice's run
    const bobShares = await fedgate('bob', ['share', runId, 'bob', '--role', 'operator']);
    assert.notEqual(bobShares.code, 0);
    assert.match(bobShares.out, /forbidden/);
    const share = await fedgate('alice', ['share', runId, 'bob', '--role', 'viewer']);
    assert.equal(share.code, 0, `fedgate authz share:\n${share.out}`);
    const members = await fedgate('alice', ['members', '--run', runId]);
    assert.equal(members.code, 0, members.out);
    assert.deepEqual(members.out.trim().split('\n'), ['owner\talice', 'viewer\tbob']);
    await waitFor('bob to see the shared run', async () => (await listedRunIds('bob')).includes(runId), 20_000, 500);
    const stop = await flwr('bob', ['stop', runId, '.']);
    assert.match(stop.out, /can_stop denied/);
  });

  it('4. an expired access token is refreshed transparently on the next command', async () => {
    const creds = credentials('alice');
    // alice's own token, expired a minute ago and signed by the IdP's real key: a genuine expiry, not a forgery the verifier would reject as invalid
    const [headerPart, payloadPart] = creds['flwr-oidc-access-token']!.split('.');
    const header = JSON.parse(Buffer.from(headerPart!, 'base64url').toString()) as { alg: string; kid: string; typ?: string };
    const claims = JSON.parse(Buffer.from(payloadPart!, 'base64url').toString()) as Record<string, unknown>;
    const jwks = JSON.parse(readFileSync(path.join(state, 'data/dev-idp/jwks.json'), 'utf8')) as { keys: JWK[] };
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, 'the signing key of alice token is in the dev IdP jwks');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 360, exp: now - 60 })
      .setProtectedHeader({ alg: header.alg, kid: header.kid, ...(header.typ ? { typ: header.typ } : {}) })
      .sign(await importJWK(jwk, header.alg));
    const verdict = await rest('POST', `${stack.services.token}/v1/verify`, { access_token: expired });
    assert.equal(verdict.status, 401);
    assert.equal(verdict.body.error, 'expired_token', 'token-service sees an expired (not an invalid) token');
    writeFileSync(credentialsFile('alice'), JSON.stringify({ ...creds, 'flwr-oidc-access-token': expired }, null, 4));

    assert.ok((await listedRunIds('alice')).includes(runId), 'the command succeeds without a new login');
    const renewed = credentials('alice');
    assert.notEqual(renewed['flwr-oidc-access-token'], expired, 'flwr stored the refreshed access token');
    const fresh = await rest('POST', `${stack.services.token}/v1/verify`, { access_token: renewed['flwr-oidc-access-token'] });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.account.flwr_aid, 'alice');
  });

  it('5. the audit log has the logins, verifications and every decision, by actor', async () => {
    // run ids are unique per service: the log names the run in its service
    const object = `run:${stack.service_name}/${runId}`;
    type AuditEvent = { type: string; action: string; outcome: string; object: string | null; actor: { flwr_aid: string | null } };
    const eventsOf = async (actor: string): Promise<AuditEvent[]> => {
      const res = await rest('GET', `${stack.services.audit}/v1/events?actor=${actor}&since=${encodeURIComponent(since)}&limit=500`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.events as AuditEvent[];
    };
    const expectations: Record<string, Array<[string, string | null, string]>> = {
      alice: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', `service:${stack.service_name}`, 'success'],
        ['run.register', object, 'success'],
        ['check.can_view', object, 'success'],
        ['run.share', object, 'success'],
        ['token.refresh', null, 'success'],
      ],
      'key:operator': [['access.grant', `service:${stack.service_name}`, 'success']],
      bob: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', `service:${stack.service_name}`, 'success'],
        ['check.can_stop', object, 'denied'],
        ['check.can_read_logs', object, 'denied'],
        ['check.can_view', object, 'success'],
        ['run.share', object, 'denied'],
      ],
      carol: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', `service:${stack.service_name}`, 'denied'],
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
    // nothing in the log carries a token
    const alice = await eventsOf('alice');
    const text = JSON.stringify(alice);
    for (const secret of Object.values(credentials('alice'))) if (secret.length > 20) assert.ok(!text.includes(secret), 'no token in the audit log');
  });

  it('keeps the whole scenario under 5 minutes', () => {
    assert.ok(Date.now() - started < 300_000, `took ${(Date.now() - started) / 1000} s`);
    assert.ok(existsSync(path.join(venv, '.fedgate-ready')));
  });
});

// Driving the real Flower of one release against the stack, for the end-to-end scenario and the
// per-release smoke: its cached venv and SuperLink (scripts/infra/flwr.sh, superlink.sh), minimal
// Flower apps, logins through the stack's device flow (`flwr login` or `fedgate login`, approved
// at the dev IdP by `fedgate dev approve`), the tokens each release stores, and `flwr ls`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { StackFile } from '@fedgate/contracts';
import { parseEnvFile, repoRoot, runProjectScript, waitFor } from '@fedgate/testing';

export const root = repoRoot();
export const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
export const stackEnv = parseEnvFile(readFileSync(path.join(root, 'infra/stack.env'), 'utf8'));
export const controlPort = Number(stackEnv.SUPERLINK_CONTROL_PORT) + Number(process.env.FEDGATE_PORT_OFFSET ?? 0);
/** The connection (1.26+: config.toml) or federation (before: pyproject.toml) the apps name. */
export const CONNECTION = 'fedgate';
const fedgateCli = path.join(root, 'apps/cli/bin/fedgate.js');

/** Every supported release (stack.env), the full scenario's releases (the newest and 1.22.0 unless FEDGATE_FLOWER_E2E_VERSIONS names others). */
export const SUPPORTED_RELEASES = `${stackEnv.FLWR_LEGACY_RELEASES ?? ''} ${stackEnv.FLWR_FEDERATION_RELEASES ?? ''}`.split(/\s+/).filter(Boolean);
export const SCENARIO_RELEASES = (process.env.FEDGATE_FLOWER_E2E_VERSIONS ?? `${stackEnv.FLWR_VERSION},1.22.0`).split(',').filter(Boolean);

export interface Result {
  code: number;
  out: string;
}

export function exec(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Run ids as printed: uint64 values lose digits as JavaScript numbers, so never through JSON.parse. */
export function runIdsIn(jsonText: string): string[] {
  return [...jsonText.matchAll(/"run-id":\s*"?(\d+)/g)].map((m) => m[1]!);
}

/** The JSON answer of a `flwr ... --format json` command (flwr may print lines before it). */
export function jsonAnswer(result: Result): { success: boolean } {
  return JSON.parse(result.out.slice(result.out.indexOf('{'))) as { success: boolean };
}

/** A call to a Fedgate service as the operator (default), a key, or a person's bearer token. */
export async function rest(stack: StackFile, method: string, url: string, body?: unknown, auth: { key?: string; bearer?: string } = { key: stack.admin_api_key }): Promise<{ status: number; body: any }> {
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

export interface AuditEvent {
  type: string;
  action: string;
  outcome: string;
  object: string | null;
  actor: { flwr_aid: string | null };
  data?: Record<string, unknown>;
}

/** The audit log's events of one actor since `since` (the operator's audit-reader key). */
export async function auditEventsOf(stack: StackFile, actor: string, since: string): Promise<AuditEvent[]> {
  const res = await rest(stack, 'GET', `${stack.services.audit}/v1/events?actor=${actor}&since=${encodeURIComponent(since)}&limit=500`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.events as AuditEvent[];
}

/** Waits until the actor's events since `since` hold each [action, object (null: any), outcome]. */
export async function expectAudited(stack: StackFile, actor: string, since: string, wanted: Array<[string, string | null, string]>): Promise<AuditEvent[]> {
  return waitFor(
    `the audit events of ${actor}`,
    async () => {
      const events = await auditEventsOf(stack, actor, since);
      assert.ok(events.every((e) => e.actor.flwr_aid === actor), 'filtered by actor');
      const missing = wanted.filter(([action, obj, outcome]) => !events.some((e) => e.action === action && e.outcome === outcome && (obj === null || e.object === obj)));
      if (missing.length > 0) throw new Error(`missing for ${actor}: ${JSON.stringify(missing)}`);
      return events;
    },
    20_000,
    500,
  );
}

/**
 * How one Flower line is driven: where its CLI finds the SuperLink and keeps the tokens, how
 * its commands name the connection, and what it prints for a refusal.
 */
export interface FlowerLine {
  /** flwr 1.26+: config.toml + credentials.yaml in FLWR_HOME; before: the app's pyproject.toml + .flwr/.credentials */
  configToml: boolean;
  /** the connection argument of ls / stop / log / login */
  target: string[];
  /** the arguments after `flwr run .` */
  runTarget: string[];
  /** what the CLI prints when Fedgate denies a run relation */
  runDenied(relation: string): RegExp;
  /** what a person without access to the SuperLink gets */
  notAMember: RegExp;
}

export function lineOf(version: string): FlowerLine {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  if (major > 1 || minor >= 26) {
    return {
      configToml: true,
      target: [CONNECTION],
      runTarget: [CONNECTION],
      runDenied: (relation) => new RegExp(`${relation} denied by Fedgate`),
      notAMember: /Federation not found, archived, or you cannot perform this action/,
    };
  }
  return {
    configToml: false,
    target: ['.'],
    runTarget: [],
    runDenied: (relation) => new RegExp(`Permission denied[\\s\\S]*${relation} denied`),
    // flwr 1.22 says "User", 1.23 "Account"
    notAMember: /(User|Account) not authorized\. Please contact the SuperLink administrator/,
  };
}

/** This release's cached venv (installed on first use), its path. */
export function ensureFlwr(version: string): string {
  const ensured = withFlwrVersion(version, () => runProjectScript('scripts/infra/flwr.sh', ['ensure'], 600_000));
  assert.equal(ensured.status, 0, ensured.stderr);
  return ensured.stdout.trim().split('\n').pop()!;
}

/**
 * The stack's SuperLink at this release (one at a time on the stack's ports), with `settings` in
 * superlink.sh's environment. By default process isolation and no ServerApp executor: runs stay
 * pending without SuperNodes, which is all the scenarios need; `{}` is the stack's own default
 * (the executor under its own user, serverapp-isolation.integration.ts).
 */
export function startSuperlink(version: string, settings: Record<string, string> = { SUPERLINK_ISOLATION: 'process', SUPERLINK_EXECUTOR: 'none' }): void {
  runProjectScript('scripts/infra/superlink.sh', ['stop']);
  Object.assign(process.env, settings);
  try {
    const start = withFlwrVersion(version, () => runProjectScript('scripts/infra/superlink.sh', ['start'], 300_000));
    assert.equal(start.status, 0, `superlink start (flwr ${version}):\n${start.stderr}`);
  } finally {
    for (const name of Object.keys(settings)) delete process.env[name];
  }
}

export function stopSuperlink(): void {
  runProjectScript('scripts/infra/superlink.sh', ['stop']);
}

/** Runs `run` with FEDGATE_FLWR_VERSION set to this release (flwr.sh and superlink.sh follow it). */
export function withFlwrVersion<T>(version: string, run: () => T): T {
  process.env.FEDGATE_FLWR_VERSION = version;
  try {
    return run();
  } finally {
    delete process.env.FEDGATE_FLWR_VERSION;
  }
}

export interface StoredTokens {
  access: string;
  refresh: string;
  authnType: string;
}

/**
 * The people of one release's run: each has a minimal Flower app and their own FLWR_HOME under
 * `work/<user>` (flwr 1.26+ keeps one token per SuperLink address there), the connection where
 * this release reads it.
 */
export class FlowerUsers {
  readonly line: FlowerLine;
  readonly apps: Record<string, string> = {};

  constructor(
    readonly version: string,
    private readonly stack: StackFile,
    private readonly venv: string,
    private readonly work: string,
  ) {
    this.line = lineOf(version);
  }

  home(user: string): string {
    return path.join(this.work, user, 'flwr-home');
  }

  env(user: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${path.join(this.venv, 'bin')}:${process.env.PATH}`,
      FLWR_HOME: this.home(user),
      FLWR_TELEMETRY_ENABLED: '0',
      NO_COLOR: '1',
      COLUMNS: '200',
    };
  }

  /** `fedgate ...` as this user: the stack's CA, and the flwr of this release on PATH (the CLI follows `flwr --version`). */
  fedgate(user: string, args: string[]): Promise<Result> {
    return exec(process.execPath, [fedgateCli, ...args], { cwd: this.apps[user], env: this.fedgateEnv(user) });
  }

  private fedgateEnv(user: string): NodeJS.ProcessEnv {
    return { ...this.env(user), NODE_EXTRA_CA_CERTS: this.stack.ca_cert, FEDGATE_STACK_FILE: path.join(state, 'stack.json'), FEDGATE_API_KEY: '' };
  }

  flwr(user: string, args: string[], timeoutMs = 60_000): Promise<Result> {
    return exec(path.join(this.venv, 'bin/flwr'), args, { cwd: this.apps[user], env: this.env(user), timeoutMs });
  }

  /** A minimal Flower app; its connection to the SuperLink (TLS, account auth) where this release reads it. */
  createApp(user: string): void {
    const dir = path.join(this.work, user, 'app');
    mkdirSync(path.join(dir, 'e2eapp'), { recursive: true });
    const legacyFederation = `
[tool.flwr.federations]
default = "${CONNECTION}"

[tool.flwr.federations.${CONNECTION}]
address = "127.0.0.1:${controlPort}"
root-certificates = "${this.stack.ca_cert}"
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
${this.line.configToml ? '' : legacyFederation}`,
    );
    writeFileSync(path.join(dir, 'e2eapp/__init__.py'), '');
    writeFileSync(path.join(dir, 'e2eapp/server_app.py'), 'from flwr.serverapp import ServerApp\n\napp = ServerApp()\n');
    writeFileSync(path.join(dir, 'e2eapp/client_app.py'), 'from flwr.clientapp import ClientApp\n\napp = ClientApp()\n');
    mkdirSync(this.home(user), { recursive: true });
    if (this.line.configToml) {
      writeFileSync(
        path.join(this.home(user), 'config.toml'),
        `[superlink]\ndefault = "${CONNECTION}"\n\n[superlink.${CONNECTION}]\naddress = "127.0.0.1:${controlPort}"\nroot-certificates = "${this.stack.ca_cert}"\n`,
      );
    }
    this.apps[user] = dir;
  }

  /** The SuperLink address, as flwr 1.26+ keys its credential store. */
  get address(): string {
    return `127.0.0.1:${controlPort}`;
  }

  private yamlKey(what: string): string {
    return `flower.account-auth.${this.address}.${what}`;
  }

  credentialsFile(user: string): string {
    return this.line.configToml ? path.join(this.home(user), 'credentials.yaml') : path.join(this.apps[user]!, '.flwr/.credentials', `${CONNECTION}.json`);
  }

  /** The tokens flwr stored for this user. */
  tokens(user: string): StoredTokens {
    const text = readFileSync(this.credentialsFile(user), 'utf8');
    if (this.line.configToml) {
      const store = parseYaml(text) as Record<string, string>;
      const decode = (what: string) => Buffer.from(store[this.yamlKey(what)] ?? '', 'base64').toString('utf8');
      return { access: decode('oidc-access-token'), refresh: decode('oidc-refresh-token'), authnType: decode('authn-type') };
    }
    const creds = JSON.parse(text) as Record<string, string>;
    return { access: creds['flwr-oidc-access-token']!, refresh: creds['flwr-oidc-refresh-token']!, authnType: creds['auth-type'] ?? creds['authn-type']! };
  }

  storeAccessToken(user: string, access: string): void {
    const file = this.credentialsFile(user);
    const text = readFileSync(file, 'utf8');
    if (this.line.configToml) {
      const store = parseYaml(text) as Record<string, string>;
      store[this.yamlKey('oidc-access-token')] = Buffer.from(access).toString('base64');
      writeFileSync(file, stringifyYaml(store));
    } else {
      writeFileSync(file, JSON.stringify({ ...(JSON.parse(text) as object), 'flwr-oidc-access-token': access }, null, 4));
    }
  }

  /**
   * The real `flwr login` (or `fedgate login`, which must write what this flwr reads: it finds
   * the release by `flwr --version` on PATH), approved at the dev IdP by the real `fedgate dev approve`.
   */
  async login(user: string, via: 'flwr' | 'fedgate' = 'flwr'): Promise<void> {
    const password = this.stack.idp.users.find((u) => u.username === user)?.password;
    assert.ok(password, `${user} is not a dev IdP user in stack.json (restart the stack to pick up new users)`);
    const child =
      via === 'flwr'
        ? spawn(path.join(this.venv, 'bin/flwr'), ['login', ...this.line.target], { cwd: this.apps[user], env: this.env(user) })
        : spawn(process.execPath, [fedgateCli, 'login', ...(this.line.configToml ? [] : ['.']), '--no-qr'], { cwd: this.apps[user], env: this.fedgateEnv(user) });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    let timer: NodeJS.Timeout | undefined;
    try {
      const userCode = await waitFor(`the verification URL from ${via} login (${user})`, () => /[?&]user_code=([A-Za-z0-9-]+)/.exec(out)?.[1], 60_000, 100);
      const approved = await exec(process.execPath, [fedgateCli, 'dev', 'approve', '--user-code', userCode, '--username', user, '--password', password], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: this.stack.ca_cert },
      });
      assert.equal(approved.code, 0, approved.out);
      const code = await Promise.race([exited, new Promise<number>((r) => (timer = setTimeout(() => r(-2), 90_000)))]);
      assert.equal(code, 0, `${via} login as ${user}:\n${out}`);
      assert.match(out, /Login successful/);
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  /** `flwr run` of the user's app: the new run's id. */
  async run(user: string): Promise<string> {
    const run = await this.flwr(user, ['run', '.', ...this.line.runTarget, '--format', 'json'], 120_000);
    assert.equal(jsonAnswer(run).success, true, run.out);
    const runId = runIdsIn(run.out)[0] ?? '';
    assert.match(runId, /^\d+$/);
    return runId;
  }

  async listedRunIds(user: string): Promise<string[]> {
    const result = await this.flwr(user, ['ls', ...this.line.target, '--format', 'json']);
    assert.equal(jsonAnswer(result).success, true, `flwr ls as ${user}: ${result.out}`);
    return runIdsIn(result.out);
  }
}

/**
 * The access every Flower test assumes: alice is the bootstrap service admin (admin implies
 * has_access; granting her `member` would replace that role), bob becomes a member, carol has no role.
 */
export async function grantScenarioAccess(stack: StackFile): Promise<void> {
  assert.equal(stack.admin_flwr_aid, 'alice', 'the scenario acts as the bootstrap admin alice');
  const grant = await rest(stack, 'PUT', `${stack.services.authz}/v1/services/${stack.service_name}/members/bob`, { role: 'member' });
  assert.equal(grant.status, 200, `granting bob has_access: ${JSON.stringify(grant.body)}`);
  const revoke = await rest(stack, 'DELETE', `${stack.services.authz}/v1/services/${stack.service_name}/members/carol`);
  assert.ok([200, 404].includes(revoke.status), `removing carol: ${JSON.stringify(revoke.body)}`);
}

/** Leaves the shared stack as found: bob's grant must not leak into other suites (authz-service's assume he has no access). */
export async function revokeScenarioAccess(stack: StackFile): Promise<void> {
  const revoke = await rest(stack, 'DELETE', `${stack.services.authz}/v1/services/${stack.service_name}/members/bob`).catch((err: Error) => ({ status: -1, body: err.message }));
  if (revoke.status !== 200) console.log(`# could not revoke bob's access: ${JSON.stringify(revoke)}`);
}

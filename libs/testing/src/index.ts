import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { Client } from 'pg';
import { kafkaPasswordVariable, type KafkaServicePrincipal } from '@fedgate/contracts';

/** The repository root (the folder with nx.json), from compiled or source locations alike. */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'nx.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export interface ScriptResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of the project's own scripts (e.g. `scripts/infra/kafka.sh stop`) from the repository
 * root, as the README would; `env` adds to the test's environment (e.g. a scratch FEDGATE_STATE_DIR).
 */
export function runProjectScript(script: string, args: string[] = [], timeoutMs = 300_000, env: Record<string, string> = {}): ScriptResult {
  const result = spawnSync('bash', [path.join(repoRoot(), script), ...args], { cwd: repoRoot(), encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/**
 * Polls `probe` until it holds `streak` times in a row (e.g. once per worker behind one port,
 * which each learn a fact on their own) and returns when that streak began: the first moment
 * every answer held from then on.
 */
export async function waitForStreak(what: string, probe: () => Promise<boolean>, streak: number, timeoutMs = 30_000, intervalMs = 100): Promise<number> {
  let since: number | undefined;
  let held = 0;
  return waitFor(`${what} (${streak} times in a row)`, async () => {
    const at = Date.now();
    let holds = false;
    try {
      holds = await probe();
    } finally {
      if (!holds) held = 0;
    }
    if (!holds) return undefined;
    if (held++ === 0) since = at;
    return held >= streak ? since : undefined;
  }, timeoutMs, intervalMs);
}

/** A TCP port free on loopback right now, for a server a test starts itself. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Run-unique suffix so tests sharing the stack never see each other's data. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
export * from './device-login';

/** KEY=value lines of an env file such as infra/stack.env (comments and blank lines skipped, optional quotes removed). */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    vars[m[1]!] = m[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

export interface ScratchDatabase {
  databaseUrl: string;
  drop(): Promise<void>;
}

/** Runs `fn` on one connection to `url`, closed afterwards. */
export async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Drops database `name` on the server of `serverUrl`, closing the sessions still in it. FORCE
 * refuses when one of them is an autovacuum worker that has just started there (it runs as no
 * role this one may terminate: 42501); a plain DROP tells autovacuum to leave and waits for it.
 */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withPg(serverUrl, async (c) => {
    try {
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } catch (err) {
      if ((err as { code?: unknown }).code !== '42501') throw err;
      await c.query(`DROP DATABASE IF EXISTS "${name}"`);
    }
  });
}

/** A database URL on the same server as `url`, with another database name. */
export function databaseUrlNamed(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A new database `name` on the PostgreSQL server of `serverUrl`, with every migration applied:
 * tests that delete or age rows do it there, never in the stack's own database. `drop()` removes it.
 */
export async function createScratchDatabase(serverUrl: string, name: string): Promise<ScratchDatabase> {
  const databaseUrl = databaseUrlNamed(serverUrl, name);
  await withPg(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const drop = () => dropDatabase(serverUrl, name);
  const migrate = spawnSync('npx', ['prisma', 'migrate', 'deploy'], { cwd: repoRoot(), encoding: 'utf8', env: { ...process.env, FEDGATE_DATABASE_URL: databaseUrl }, timeout: 180_000 });
  if (migrate.status !== 0) {
    await drop();
    throw new Error(`prisma migrate deploy failed: ${migrate.stdout}${migrate.stderr}`);
  }
  return { databaseUrl, drop };
}

/**
 * The Kafka credentials a service of the local stack runs with (services.sh), for a test that
 * starts another instance: its password comes from secrets.env, in the tests' environment.
 */
export function serviceKafkaEnv(principal: KafkaServicePrincipal): { FEDGATE_KAFKA_USERNAME: string; FEDGATE_KAFKA_PASSWORD: string } {
  const variable = kafkaPasswordVariable(principal);
  const password = process.env[variable];
  if (!password) throw new Error(`${variable} is not set: run the tests through \`npm test\` (it loads .fedgate/secrets.env)`);
  return { FEDGATE_KAFKA_USERNAME: principal, FEDGATE_KAFKA_PASSWORD: password };
}

/** A Fedgate service process a test started itself (beside the stack's), on its own port. */
export interface ServiceProcess {
  base: string;
  /** Ends it (SIGTERM) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts one more process of a stack service on a free loopback port, configured like the
 * stack's (the caller's environment, from service-env.sh) plus `env` (e.g. a rate limit for
 * the test). With `waitReady`, resolves once its /readyz answers 200.
 */
export async function startServiceProcess(service: 'login-service' | 'token-service' | 'authz-service' | 'audit-service', env: Record<string, string> = {}, waitReady = true): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn('node', [path.join(repoRoot(), `dist/apps/${service}/src/main.js`)], { env: { ...process.env, ...serviceKafkaEnv(service), FEDGATE_PORT: String(port), FEDGATE_WORKERS: '1', ...env }, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `https://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  if (waitReady) {
    try {
      await waitFor(`${service} on port ${port} ready`, async () => child.exitCode === null && (await fetch(`${base}/readyz`)).ok, 90_000, 250);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return { base, stop };
}

/** The pid of a process the stack runs (a service, `kafka`, `openfga`, `dev-idp`): its pid file in the run directory beside `stackFile` (findStackFile()). */
export function stackPid(stackFile: string, name: string): number {
  return Number(readFileSync(path.join(path.dirname(stackFile), 'run', `${name}.pid`), 'utf8').trim());
}

/** Whether a process with this pid exists (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The bootstrap admin's account id: the dev-IdP stack names it (`admin_flwr_aid`); a stack against another IdP may not. */
export function stackAdmin(stack: { admin_flwr_aid?: string }): string {
  if (!stack.admin_flwr_aid) throw new Error('the stack names no bootstrap admin account (admin_flwr_aid): these tests need the dev-IdP stack');
  return stack.admin_flwr_aid;
}

/**
 * 'pending' | 'resolved' | 'rejected': where `promise` stands once the event loop has run all it
 * could (for unit tests that something does NOT happen until a dependency answers).
 */
export async function promiseState(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(() => (state = 'resolved'), () => (state = 'rejected'));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return state;
}

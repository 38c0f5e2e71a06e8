// The stack command's promise: every service up and healthy over HTTPS, described in
// .fedgate/stack.json, and `npm run stack:down` leaving no process behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readStackFile } from '@fedgate/stack';
import { parseEnvFile, repoRoot, stackPid, waitFor } from '@fedgate/testing';

const root = repoRoot();
const state = process.env.FEDGATE_STATE_DIR ?? path.join(root, '.fedgate');
const SERVICES = ['login', 'token', 'authz', 'audit'] as const;

const env = parseEnvFile(readFileSync(path.join(root, 'infra/stack.env'), 'utf8'));
const PORTS = ['PG_PORT', 'KAFKA_PORT', 'KAFKA_CONTROLLER_PORT', 'OPENFGA_HTTP_PORT', 'OPENFGA_GRPC_PORT', 'IDP_PORT', 'LOGIN_PORT', 'TOKEN_PORT', 'AUTHZ_PORT', 'AUDIT_PORT', 'SUPERLINK_SERVERAPPIO_PORT', 'SUPERLINK_FLEET_PORT', 'SUPERLINK_CONTROL_PORT', 'SUPERLINK_HEALTH_PORT'].map((k) => Number(env[k]) + Number(process.env.FEDGATE_PORT_OFFSET ?? 0));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** Every process the stack started: the scripts' pid files plus PostgreSQL's postmaster.pid. */
function stackPids(): number[] {
  const run = path.join(state, 'run');
  const pids = readdirSync(run).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(path.join(run, f), 'utf8').trim()));
  const postmaster = path.join(state, 'data/postgres/postmaster.pid');
  if (existsSync(postmaster)) pids.push(Number(readFileSync(postmaster, 'utf8').split('\n')[0]));
  return pids.filter((p) => Number.isInteger(p) && p > 1);
}

function alive(pid: number): boolean {
  try {
    // a zombie has exited: only its parent has not reaped it yet
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function npmRun(args: string[]) {
  return spawnSync('npm', ['run', ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 });
}

async function assertHealthy(): Promise<void> {
  const stack = readStackFile();
  for (const name of SERVICES) {
    const base = stack.services[name];
    assert.match(base, /^https:\/\//, `${name} is served over HTTPS`);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok', service: `${name}-service` });
    const ready = await fetch(`${base}/readyz`);
    const body = (await ready.json()) as { status: string; checks: Record<string, string> };
    assert.equal(ready.status, 200, `${name} ready: ${JSON.stringify(body)}`);
    assert.ok(Object.values(body.checks).length >= 2 && Object.values(body.checks).every((c) => c === 'up'));
    const metrics = await fetch(`${base}/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await metrics.text();
    assert.match(text, /fedgate_http_requests_total\{[^}]*service="\w+-service"/);
    assert.match(text, /process_cpu_user_seconds_total/);
  }
}

describe('the local stack (npm run stack)', () => {
  it('lists all four services in stack.json and serves them healthy over HTTPS', async () => {
    const stack = readStackFile();
    assert.equal(stack.ca_cert, path.join(state, 'tls/ca.pem'));
    assert.ok(stack.idp.users.some((u) => u.username === 'alice') && stack.idp.users.some((u) => u.username === 'bob') && stack.idp.users.some((u) => u.username === 'carol'));
    assert.equal(stack.service_name, env.FEDGATE_SERVICE_NAME);
    assert.equal(stack.admin_flwr_aid, env.FEDGATE_ADMIN_FLWR_AID);
    await assertHealthy();
  });

  it('runs Kafka and the audit-service at BACKGROUND_NICE, the services that answer requests at nice 0', () => {
    const background = Number(env.BACKGROUND_NICE);
    assert.ok(background > 0, 'infra/stack.env sets BACKGROUND_NICE');
    // nice is field 19 of /proc/PID/stat; with autogroups the session's own nice is what ranks it
    const niceOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[16]);
    const groupNiceOf = (pid: number) => (existsSync(`/proc/${pid}/autogroup`) ? Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))![1]) : undefined);
    for (const [name, expected] of [['kafka', background], ['audit-service', background], ['authz-service', 0], ['token-service', 0], ['login-service', 0]] as const) {
      const pid = stackPid(path.join(state, 'stack.json'), name);
      assert.equal(niceOf(pid), expected, `${name}: nice`);
      const group = groupNiceOf(pid);
      if (group !== undefined) assert.equal(group, expected, `${name}: its autogroup's nice`);
    }
  });

  it('does not speak plain HTTP', async () => {
    const base = new URL(readStackFile().services.login);
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get({ host: base.hostname, port: base.port, path: '/healthz', timeout: 5000 }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.on('timeout', () => { req.destroy(); resolve('timeout'); });
    });
    assert.doesNotMatch(outcome, /status 200/);
  });

  it('answers failures with a stable code, a request id, and no stack trace', async () => {
    const base = readStackFile().services.authz;
    const cases: Array<[RequestInit & { path: string }, number, string]> = [
      [{ path: '/no-such-route' }, 404, 'not_found'],
      [{ path: '/healthz', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' }, 400, 'invalid_request'],
      [{ path: '/healthz', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(200_000) }) }, 413, 'payload_too_large'],
    ];
    for (const [{ path: p, ...init }, status, code] of cases) {
      const res = await fetch(`${base}${p}`, init);
      const text = await res.text();
      assert.equal(res.status, status, text);
      assert.equal((JSON.parse(text) as { error: string }).error, code);
      assert.doesNotMatch(text, /\n\s+at |\.ts:\d+|\.js:\d+/, 'no stack trace');
      assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    }
    const echoed = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-123');
    // log-injection attempt: not a short plain token, so it is replaced
    const unsafe = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'x" level="fatal' } });
    assert.match(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('stack:down leaves no process behind, and stack --detach brings everything back healthy', { timeout: 900_000 }, async () => {
    const pids = stackPids();
    assert.ok(pids.length >= 8, `pids of the stack: ${pids}`);
    assert.ok(pids.every(alive));

    const down = npmRun(['stack:down']);
    assert.equal(down.status, 0, down.stderr);
    await waitFor('every stack process gone', () => pids.every((p) => !alive(p)), 30_000);
    for (const port of PORTS) assert.equal(await portOpen(port), false, `port ${port} closed`);
    assert.equal(existsSync(path.join(state, 'stack.json')), false);
    const leftovers = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(path.join(root, 'dist')) || l.includes(state))
      .filter((l) => ![process.pid, process.ppid].includes(Number(l.trim().split(/\s+/)[0])));
    assert.deepEqual(leftovers, []);

    const up = npmRun(['stack', '--', '--detach']);
    assert.equal(up.status, 0, up.stderr);
    await assertHealthy();
  });

  it('in the foreground, Ctrl-C (SIGINT to its process group) stops everything it started', { timeout: 900_000 }, async () => {
    assert.equal(npmRun(['stack:down']).status, 0);
    const foreground = spawn('npm', ['run', 'stack'], { cwd: root, detached: true, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => foreground.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the foreground stack to be healthy', async () => existsSync(path.join(state, 'stack.json')) && (await fetch(`${readStackFile().services.audit}/readyz`)).ok, 600_000, 500);
      const pids = stackPids();
      process.kill(-foreground.pid!, 'SIGINT');
      await exited;
      await waitFor('every stack process gone', () => pids.every((p) => !alive(p)), 60_000);
      for (const port of PORTS) assert.equal(await portOpen(port), false, `port ${port} closed`);
    } finally {
      if (foreground.exitCode === null) process.kill(-foreground.pid!, 'SIGKILL');
      const up = npmRun(['stack', '--', '--detach']);
      assert.equal(up.status, 0, up.stderr);
    }
    await assertHealthy();
  });
});

// `npx fedgate login` end to end on the real stack: login-service, dev IdP, PostgreSQL, Kafka.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { readStackFile } from '@fedgate/stack';
import { repoRoot, waitFor } from '@fedgate/testing';

const stack = readStackFile();

function flowerApp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedgate-login-'));
  mkdirSync(path.join(dir, 'certificates'));
  copyFileSync(stack.ca_cert, path.join(dir, 'certificates', 'ca.crt'));
  writeFileSync(
    path.join(dir, 'pyproject.toml'),
    `[project]
name = "demo"
version = "1.0.0"

[tool.flwr.federations]
default = "local-deployment"

[tool.flwr.federations.local-deployment]
address = "127.0.0.1:9093"
root-certificates = "./certificates/ca.crt"
enable-user-auth = true
`,
  );
  return dir;
}

/** Runs `fedgate login` and plays the user: signs in as `username` once the URL is shown. */
async function fedgateLogin(app: string, username: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('npx', ['fedgate', 'login', app, '--no-qr'], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await waitFor('the verification URL', () => /here: (\S+)/.exec(stdout)?.[1], 30_000);
  const userCode = new URL(url).searchParams.get('user_code');
  assert.ok(userCode, url);
  const password = stack.idp.users.find((u) => u.username === username)!.password;
  const approve = spawnSync('npx', ['fedgate', 'dev', 'approve', '--user-code', userCode, '--username', username, '--password', password], { cwd: repoRoot(), encoding: 'utf8' });
  assert.equal(approve.status, 0, approve.stderr);
  const status = await exited;
  return { status, stdout, stderr };
}

describe('npx fedgate login (the CLI twin of flwr login)', { timeout: 180_000 }, () => {
  it('writes the credential file and .gitignore as flwr does, and keeps .gitignore on a second run', async () => {
    const app = flowerApp();
    const first = await fedgateLogin(app, 'alice');
    assert.equal(first.status, 0, first.stderr);
    const lines = first.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    assert.deepEqual(lines.slice(0, 3), ['Loading project configuration...', 'Success', 'Creating a new `.gitignore` with `.credentials` entry...']);
    assert.match(lines[3]!, /^Please login with your user credentials here: https:\/\/\S+user_code=/);
    assert.equal(lines.at(-1), '✅ Login successful.');

    const file = path.join(app, '.flwr', '.credentials', 'local-deployment.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    const credentials = JSON.parse(text) as Record<string, string>;
    assert.deepEqual(Object.keys(credentials).sort(), ['authn-type', 'flwr-oidc-access-token', 'flwr-oidc-refresh-token']);
    assert.equal(credentials['authn-type'], 'oidc');
    assert.equal(text.trimEnd(), JSON.stringify(credentials, null, 4), 'JSON indented by 4');
    assert.equal(readFileSync(path.join(app, '.flwr', '.gitignore'), 'utf8').split('\n')[0], '.credentials');
    for (const secret of Object.values(credentials).slice(1)) assert.ok(!first.stdout.includes(secret) && !first.stderr.includes(secret), 'no token printed');

    const jwks = createRemoteJWKSet(new URL(`${stack.idp.issuer}/jwks`));
    const { payload } = await jwtVerify(credentials['flwr-oidc-access-token']!, jwks, { issuer: stack.idp.issuer, audience: stack.idp.audience });
    assert.equal(payload.sub, 'alice');

    const gitignoreBefore = readFileSync(path.join(app, '.flwr', '.gitignore'), 'utf8');
    const second = await fedgateLogin(app, 'bob');
    assert.equal(second.status, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /Creating a new `.gitignore`/);
    assert.equal(readFileSync(path.join(app, '.flwr', '.gitignore'), 'utf8'), gitignoreBefore);
    const again = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    assert.notEqual(again['flwr-oidc-access-token'], credentials['flwr-oidc-access-token'], 'the second login replaced the tokens');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('refuses an insecure federation before contacting anything', () => {
    const app = flowerApp();
    writeFileSync(path.join(app, 'pyproject.toml'), readFileSync(path.join(app, 'pyproject.toml'), 'utf8').replace('enable-user-auth = true', 'enable-user-auth = true\ninsecure = true'));
    const run = spawnSync('npx', ['fedgate', 'login', app, '--no-qr'], { cwd: repoRoot(), encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: insecure_federation: /m);
  });
});

// Pointing the stack at your own identity provider: every setting that can be judged before
// a person signs in is refused at start, with the reason and the fix, never a raw stack trace.
// The script runs use a scratch state dir, so the running stack is left alone.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readStackFile } from '@fedgate/stack';
import { parseEnvFile, repoRoot, runProjectScript, serviceKafkaEnv } from '@fedgate/testing';

const root = repoRoot();
const stack = readStackFile();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'fedgate-idp-settings-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A scratch state dir holding the stack's TLS files (what idp.sh check trusts). */
function scratchState(name: string): string {
  const dir = path.join(scratch, name);
  cpSync(path.dirname(stack.ca_cert), path.join(dir, 'tls'), { recursive: true });
  return dir;
}

function script(file: string, args: string[], state: string) {
  const started = Date.now();
  const result = runProjectScript(file, args, 120_000, { FEDGATE_STATE_DIR: state });
  return { status: result.status, stderr: result.stderr, ms: Date.now() - started };
}

/** A service started with `overrides` that must refuse to start: answers its exit code and output. */
function failedStart(service: 'login' | 'token', overrides: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [path.join(root, `dist/apps/${service}-service/src/main.js`)], {
      env: { ...process.env, ...serviceKafkaEnv(`${service}-service`), FEDGATE_PORT: '1', FEDGATE_WORKERS: '1', ...overrides },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('services: IdP settings refused at start', { timeout: 180_000 }, () => {
  for (const service of ['login', 'token'] as const) {
    it(`${service}-service refuses an http:// issuer with one clear line, not a TypeError (or a 503 on every login)`, async () => {
      const { code, output } = await failedStart(service, { FEDGATE_OIDC_ISSUER: 'http://127.0.0.1:8080/realms/flower' });
      assert.equal(code, 1, output);
      const line = JSON.parse(output.trim().split('\n').pop()!) as { level: string; reason: string };
      assert.equal(line.level, 'fatal');
      assert.match(line.reason, /FEDGATE_OIDC_ISSUER: must be an https:\/\/ URL: Fedgate talks to the identity provider over TLS only/);
      assert.doesNotMatch(output, /TypeError|\n\s+at /, 'no raw error or stack trace');
    });

    it(`${service}-service refuses an IdP CA file that does not exist`, async () => {
      const { code, output } = await failedStart(service, { FEDGATE_OIDC_CA_FILE: path.join(scratch, 'missing-ca.pem') });
      assert.equal(code, 1, output);
      assert.match(output, /FEDGATE_OIDC_CA_FILE: .*missing-ca\.pem does not exist/);
    });
  }
});

describe('npm run stack -- --idp ...: settings checked before anything starts', { timeout: 300_000 }, () => {
  it('refuses an http:// issuer at once, saying why', () => {
    const state = scratchState('http');
    const run = script('scripts/stack.sh', ['--detach', '--idp', 'http://127.0.0.1:8080/realms/flower', '--idp-client-id', 'fedgate-cli'], state);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /the issuer must be https:\/\//);
    assert.doesNotMatch(run.stderr, /compiling|postgres|kafka/, 'refused before building or starting anything');
  });

  it('requires the client id, a readable PEM CA file and a JSON object of extra parameters', () => {
    const state = scratchState('options');
    const issuer = ['--idp', 'https://idp.example.test/realms/fedgate'];
    assert.match(script('scripts/infra/idp.sh', ['configure', ...issuer], state).stderr, /--idp-client-id is required/);
    const notPem = path.join(scratch, 'not-a-ca.pem');
    writeFileSync(notPem, 'hello');
    assert.match(script('scripts/infra/idp.sh', ['configure', ...issuer, '--idp-client-id', 'x', '--idp-ca-file', notPem], state).stderr, /holds no PEM certificate/);
    assert.match(script('scripts/infra/idp.sh', ['configure', ...issuer, '--idp-client-id', 'x', '--idp-extra-params', '[1]'], state).stderr, /must be a JSON object/);
    assert.match(script('scripts/infra/idp.sh', ['configure', '--idp-client-id', 'x'], state).stderr, /without --idp/);
  });

  it('writes the settings (an env file and options, options winning) and the services get them, the dev-IdP admin name dropped', () => {
    const state = scratchState('written');
    const envFile = path.join(scratch, 'company-idp.env');
    writeFileSync(envFile, `FEDGATE_IDP_ISSUER=https://idp.example.test/realms/fedgate\nFEDGATE_IDP_CLIENT_ID=from-file\nFEDGATE_IDP_ADMIN=ops@example.test\nFEDGATE_IDP_CA_FILE=${stack.ca_cert}\n`);
    const run = script('scripts/infra/idp.sh', ['configure', '--idp-env-file', envFile, '--idp-client-id', 'from-option', '--idp-scope', 'openid profile email'], state);
    assert.equal(run.status, 0, run.stderr);
    const written = parseEnvFile(readFileSync(path.join(state, 'idp.env'), 'utf8'));
    assert.equal(written.FEDGATE_IDP_CLIENT_ID, 'from-option');
    const derived = spawnSync('bash', ['-c', `. scripts/infra/lib.sh && ensure_secrets && . scripts/infra/service-env.sh && env`], { cwd: root, encoding: 'utf8', env: { ...process.env, FEDGATE_STATE_DIR: state } });
    const env = parseEnvFile(derived.stdout);
    assert.equal(env.FEDGATE_OIDC_ISSUER, 'https://idp.example.test/realms/fedgate');
    assert.equal(env.FEDGATE_OIDC_CLIENT_ID, 'from-option');
    assert.equal(env.FEDGATE_OIDC_SCOPE, 'openid profile email');
    assert.equal(env.FEDGATE_OIDC_CA_FILE, stack.ca_cert);
    assert.equal(env.FEDGATE_ADMIN_LOGIN, 'ops@example.test');
    assert.equal(env.FEDGATE_ADMIN_FLWR_AID, undefined, "stack.env's alice is a dev IdP account id");
    // no IdP named: back to the dev IdP
    assert.equal(script('scripts/infra/idp.sh', ['configure'], state).status, 0);
    const dev = parseEnvFile(spawnSync('bash', ['-c', `. scripts/infra/lib.sh && ensure_secrets && . scripts/infra/service-env.sh && env`], { cwd: root, encoding: 'utf8', env: { ...process.env, FEDGATE_STATE_DIR: state } }).stdout);
    assert.equal(dev.FEDGATE_OIDC_ISSUER, stack.idp.issuer);
  });

  it('checks the IdP before starting the services: its discovery document, exact issuer, device flow, and a CA it can be trusted with', () => {
    // the running dev IdP stands in for "your own" IdP here
    const state = scratchState('check');
    assert.equal(script('scripts/infra/idp.sh', ['configure', '--idp', stack.idp.issuer, '--idp-client-id', 'fedgate'], state).status, 0);
    const ok = script('scripts/infra/idp.sh', ['check'], state);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /offers the device flow/);

    assert.equal(script('scripts/infra/idp.sh', ['configure', '--idp', `${stack.idp.issuer}/`, '--idp-client-id', 'fedgate'], state).status, 0);
    assert.match(script('scripts/infra/idp.sh', ['check'], state).stderr, /names itself "https:\/\/127.0.0.1:\d+", not .*use exactly that issuer/);

    // a stack whose CA did not sign the IdP's certificate: told to give the IdP's CA
    const foreign = scratchState('foreign-ca');
    const other = spawnSync('bash', [path.join(root, 'scripts/infra/tls.sh'), 'ensure'], { encoding: 'utf8', env: { ...process.env, FEDGATE_STATE_DIR: foreign, FEDGATE_TLS_DIR: path.join(foreign, 'other-tls') } });
    assert.equal(other.status, 0, other.stderr);
    cpSync(path.join(foreign, 'other-tls/ca.pem'), path.join(foreign, 'tls/ca.pem'));
    assert.equal(script('scripts/infra/idp.sh', ['configure', '--idp', stack.idp.issuer, '--idp-client-id', 'fedgate'], foreign).status, 0);
    assert.match(script('scripts/infra/idp.sh', ['check'], foreign).stderr, /not trusted.*--idp-ca-file/);
  });
});

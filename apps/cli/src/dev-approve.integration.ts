// `npx fedgate dev approve` against the real dev IdP of the local stack: the browserless
// sign-in step that the login tests of later issues build on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { readStackFile } from '@fedgate/stack';
import { fetchRetryingClosedSocket, repoRoot } from '@fedgate/testing';

const stack = readStackFile();
const clientId = stack.idp.client_id ?? 'fedgate';

interface Discovery { device_authorization_endpoint: string; token_endpoint: string }

async function discovery(): Promise<Discovery> {
  return (await (await fetch(`${stack.idp.issuer}/.well-known/openid-configuration`)).json()) as Discovery;
}

async function startDeviceLogin(d: Discovery): Promise<{ device_code: string; user_code: string }> {
  const res = await fetch(d.device_authorization_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ client_id: clientId, scope: 'openid offline_access profile email' }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as { device_code: string; user_code: string };
}

async function poll(d: Discovery, deviceCode: string): Promise<Record<string, string>> {
  // after a CLI run of several seconds the kept-alive socket may have been closed by the IdP
  const res = await fetchRetryingClosedSocket(d.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ client_id: clientId, grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode }),
  });
  return (await res.json()) as Record<string, string>;
}

function fedgate(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('npx', ['fedgate', ...args], { cwd: repoRoot(), encoding: 'utf8', timeout: 60_000, env });
}

function user(name: string) {
  const found = stack.idp.users.find((u) => u.username === name);
  assert.ok(found, `${name} is a seeded dev IdP user`);
  return found;
}

describe('npx fedgate dev approve', () => {
  it('signs a seeded user in for a device code, so the device gets their tokens', async () => {
    const d = await discovery();
    const login = await startDeviceLogin(d);
    assert.equal((await poll(d, login.device_code)).error, 'authorization_pending');

    const alice = user('alice');
    const run = fedgate(['dev', 'approve', '--user-code', login.user_code, '--username', alice.username, '--password', alice.password]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Approved: alice/);
    assert.ok(!run.stdout.includes(alice.password) && !run.stderr.includes(alice.password), 'the password is never echoed');

    const tokens = await poll(d, login.device_code);
    assert.ok(tokens.access_token, JSON.stringify(tokens));
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, stack.idp.issuer);
  });

  it("works as the README gives it, without NODE_EXTRA_CA_CERTS: the CLI trusts the stack's CA from stack.json", async () => {
    const d = await discovery();
    const login = await startDeviceLogin(d);
    const { NODE_EXTRA_CA_CERTS: _stackCa, ...withoutExtraCa } = process.env;
    const carol = user('carol');
    const run = fedgate(['dev', 'approve', '--user-code', login.user_code, '--username', carol.username, '--password', carol.password], withoutExtraCa);
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /SELF_SIGNED_CERT_IN_CHAIN/);
    assert.ok((await poll(d, login.device_code)).access_token);
  });

  it('fails with invalid_credentials on a wrong password, and the device is not signed in', async () => {
    const d = await discovery();
    const login = await startDeviceLogin(d);
    const run = fedgate(['dev', 'approve', '--user-code', login.user_code, '--username', 'bob', '--password', 'wrong-password']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: invalid_credentials: /m);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.equal((await poll(d, login.device_code)).access_token, undefined);
  });

  it('--deny cancels the sign-in: the device is answered access_denied', async () => {
    const d = await discovery();
    const login = await startDeviceLogin(d);
    const bob = user('bob');
    const run = fedgate(['dev', 'approve', '--deny', '--user-code', login.user_code, '--username', bob.username, '--password', bob.password]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal((await poll(d, login.device_code)).error, 'access_denied');
  });
});

// token-service on the real stack: tokens from the dev IdP via the login-service, the forged
// corpus, revocation across two instances through Kafka, audit events, bad input.
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FedgateEvent, TOPICS, sha256Hex } from '@fedgate/contracts';
import { CloudEventConsumer, operatorKafkaSettings } from '@fedgate/kafka';
import { readStackFile } from '@fedgate/stack';
import { buildForgedTokenCorpus } from '@fedgate/token-verification';
import { deviceLogin, postJson, repoRoot, uniqueSuffix, waitFor, waitForStreak, serviceKafkaEnv } from '@fedgate/testing';

const stack = readStackFile();
const tokenService = stack.services.token;
const SECOND_PORT = 17_012;
const secondInstance = `https://127.0.0.1:${SECOND_PORT}`;

const verify = (base: string, token: unknown, init: { newConnection?: boolean } = {}) => postJson(stack, `${base}/v1/verify`, { access_token: token }, init);
/** A verification on a new connection: node:cluster hands each to the next worker. */
const verifyAtNextWorker = (base: string, token: string) => verify(base, token, { newConnection: true });

const events: FedgateEvent[] = [];
const consumer = new CloudEventConsumer(
  operatorKafkaSettings(stack, 'token-tests'),
  { groupId: `token-tests-${uniqueSuffix()}`, topics: [TOPICS.token], fromBeginning: true, handle: async (batch) => void events.push(...batch.map((r) => r.event)) },
);

/** A second token-service process on another port, configured like the stack's. */
function startSecondInstance(): ChildProcess {
  return spawn('node', [path.join(repoRoot(), 'dist/apps/token-service/src/main.js')], {
    env: { ...process.env, ...serviceKafkaEnv('token-service'), FEDGATE_PORT: String(SECOND_PORT) },
    stdio: 'ignore',
  });
}

describe('token-service on the real stack', { timeout: 300_000 }, () => {
  let second: ChildProcess;
  before(async () => {
    second = startSecondInstance();
    await consumer.start();
    await waitFor('the second token-service instance', async () => (await fetch(`${secondInstance}/readyz`)).ok, 60_000, 250);
  });
  after(async () => {
    second.kill('SIGTERM');
    await consumer.stop();
  });

  it('verifies a token from the dev IdP and names its account', async () => {
    const tokens = await deviceLogin(stack, 'alice');
    const res = await verify(tokenService, tokens.access_token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.active, true);
    assert.deepEqual(res.body.account, { flwr_aid: 'alice', account_name: 'alice' });
    assert.ok(res.body.expires_at > Date.now() / 1000);
    assert.equal(typeof res.body.scope, 'string');
    await waitFor('token.verified event', () => events.some((e) => e.type === 'fedgate.token.verified.v1' && (e.data as any).access_token_hash === sha256Hex(tokens.access_token)));
  });

  it('rejects 100% of the forged-token corpus with the right code, and audits each rejection', async () => {
    const tokens = await deviceLogin(stack, 'bob');
    const idpJwks = (await (await fetch(`${stack.idp.issuer}/jwks`)).json()) as { keys: [] };
    const jwksFile = JSON.parse(readFileSync(path.join(repoRoot(), '.fedgate/data/dev-idp/jwks.json'), 'utf8')) as { keys: Array<{ kid: string }> };
    const current = decodeKid(tokens.access_token);
    const corpus = await buildForgedTokenCorpus({
      validToken: tokens.access_token,
      issuer: stack.idp.issuer,
      audience: stack.idp.audience!,
      idpJwks,
      idpPrivateJwk: jwksFile.keys.find((k) => k.kid === current),
    });
    assert.ok(corpus.length >= 12, `corpus of ${corpus.length}`);
    const wrong: string[] = [];
    for (const forged of corpus) {
      const res = await verify(tokenService, forged.token);
      // a 1 MB token is stopped by the body limit before any parsing, an empty one by request validation
      const outcome = res.status === 413 ? 'too_large' : `${res.status} ${res.body.active} ${res.body.error}`;
      const expected = forged.token.length > 65_536 ? 'too_large' : forged.token === '' ? '400 undefined invalid_request' : `401 false ${forged.expectedError}`;
      const ok = outcome === expected;
      if (!ok) wrong.push(`${forged.name}: ${outcome} (expected ${forged.expectedError})`);
    }
    assert.deepEqual(wrong, [], 'every forgery refused with its code');
    const audited = corpus.filter((f) => f.token !== '' && f.token.length <= 16_384).map((f) => sha256Hex(f.token));
    await waitFor('a token.rejected event for each forgery', () => {
      const rejected = new Set(events.filter((e) => e.type === 'fedgate.token.rejected.v1').map((e) => (e.data as any).access_token_hash));
      return audited.every((h) => rejected.has(h));
    }, 30_000);
    const text = JSON.stringify(events);
    assert.ok(!text.includes(tokens.access_token), 'no raw token in the audit events');
  });

  it('refuses a logged-out session at every instance and every worker within 1 s', async (t) => {
    const tokens = await deviceLogin(stack, 'alice');
    assert.equal((await verify(secondInstance, tokens.access_token)).status, 200, 'valid (and cached) at the second instance');
    assert.equal((await verify(tokenService, tokens.access_token)).status, 200);
    const out = await postJson(stack, `${stack.services.login}/v1/logout`, { refresh_token: tokens.refresh_token });
    assert.equal(out.status, 204);
    const loggedOutAt = Date.now();
    const revoked = async (base: string) => (await verifyAtNextWorker(base, tokens.access_token)).body.error === 'revoked_token';
    // The stack's token-service runs two workers (node:cluster), each hearing the revocation on its
    // own: ten refusals in a row, each on a new connection (so from each worker), from the moment
    // the last of them knew. Both instances are asked at once, so neither wait delays the other.
    const [secondAt, everyWorkerAt] = await Promise.all([
      waitForStreak('revoked_token at the second instance', () => revoked(secondInstance), 1, 10_000, 20),
      waitForStreak('revoked_token from every worker of the stack\'s token-service', () => revoked(tokenService), 10, 10_000, 20),
    ]);
    t.diagnostic(`refused by the second instance after ${secondAt - loggedOutAt} ms, by every worker of the stack's after ${everyWorkerAt - loggedOutAt} ms`);
    assert.ok(secondAt - loggedOutAt < 1000, `revoked at the second instance after ${secondAt - loggedOutAt} ms`);
    assert.ok(everyWorkerAt - loggedOutAt < 1000, `revoked at every worker of the stack's token-service after ${everyWorkerAt - loggedOutAt} ms`);
    // and from then on, every time
    for (let i = 0; i < 10; i++) assert.equal((await verifyAtNextWorker(tokenService, tokens.access_token)).body.error, 'revoked_token', `answer ${i + 1}`);
  });

  it('serves OIDC UserInfo and RFC 7662 introspection', async () => {
    const tokens = await deviceLogin(stack, 'bob');
    const info = await fetch(`${tokenService}/v1/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(info.status, 200);
    assert.deepEqual(await info.json(), { sub: 'bob', preferred_username: 'bob' });
    const refused = await fetch(`${tokenService}/v1/userinfo`, { headers: { authorization: 'Bearer not-a-token' } });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);

    const introspect = (token: string) =>
      fetch(`${tokenService}/v1/introspect`, { method: 'POST', headers: { 'x-fedgate-key': stack.api_key, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const active = await introspect(tokens.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, 'bob');
    assert.deepEqual(await introspect('garbage'), { active: false });
  });

  it('follows a JWKS rotation at the IdP: tokens signed with the new key verify after a refetch', { timeout: 120_000 }, async () => {
    const before = await deviceLogin(stack, 'alice');
    assert.equal((await verify(tokenService, before.access_token)).status, 200);
    const rotated = await fetch(`${stack.idp.issuer}/dev/rotate-keys`, { method: 'POST', headers: { authorization: `Bearer ${process.env.FEDGATE_IDP_ADMIN_KEY}`, 'content-type': 'application/json' }, body: '{}' });
    const rotation = await rotated.text();
    assert.equal(rotated.status, 200, rotation);
    const { currentKid } = JSON.parse(rotation) as { currentKid: string };
    const after = await deviceLogin(stack, 'alice');
    assert.equal(decodeKid(after.access_token), currentKid, 'the IdP signs with the new key');
    // unknown kid → one refetch, at most once per cooldown (30 s): valid at the latest then
    await waitFor('the new-key token to verify', async () => (await verify(tokenService, after.access_token)).status === 200, 45_000, 1000);
    assert.equal((await verify(tokenService, before.access_token)).status, 200, 'the previous key is still published');
  });

  it('answers bad input with stable 4xx codes and keeps serving', async () => {
    const cases: Array<[Promise<{ status: number; body: Record<string, any> }>, number, string]> = [
      [verify(tokenService, ''), 400, 'invalid_request'],
      [verify(tokenService, 42), 400, 'invalid_request'],
      [verify(tokenService, '%%%.###.$$$'), 401, 'invalid_token'],
      [postJson(stack, `${tokenService}/v1/verify`, '{"access_token":'), 400, 'invalid_request'],
      [postJson(stack, `${tokenService}/v1/verify`, { access_token: 'x' }, { apiKey: null }), 401, 'invalid_client'],
    ];
    for (const [call, status, code] of cases) {
      const res = await call;
      assert.deepEqual([res.status, res.body.error], [status, code]);
    }
    const wrongType = await fetch(`${tokenService}/v1/verify`, { method: 'POST', headers: { 'x-fedgate-key': stack.api_key, 'content-type': 'text/plain' }, body: 'token' });
    assert.equal(wrongType.status, 415);
    assert.equal((await fetch(`${tokenService}/healthz`)).status, 200);
  });
});

function decodeKid(jwt: string): string {
  return (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
}

// login-service on the real stack: dev IdP, PostgreSQL, Kafka. The sign-in step is done by
// `npx fedgate dev approve`, as a person would in the browser.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { FedgateEvent, TOPICS, sha256Hex } from '@fedgate/contracts';
import { Pool } from 'pg';
import { OutboxStore, createPrismaClient } from '@fedgate/database';
import { ExpireDeviceLogins } from '@fedgate/login';
import { CloudEventConsumer, ConsumedPositions, operatorKafkaSettings, topicEndOffsets } from '@fedgate/kafka';
import { readStackFile } from '@fedgate/stack';
import { postJson, repoRoot, runProjectScript, uniqueSuffix, waitFor } from '@fedgate/testing';

const stack = readStackFile();
const base = stack.services.login;
const prisma = createPrismaClient(stack.postgres.url, 2);
const pool = new Pool({ connectionString: stack.postgres.url, max: 2 });
const events: FedgateEvent[] = [];
const positions = new ConsumedPositions();
const consumer = new CloudEventConsumer(operatorKafkaSettings(stack, 'login-tests'), {
  groupId: `login-tests-${uniqueSuffix()}`,
  topics: [TOPICS.login],
  fromBeginning: true,
  handle: async (batch) => {
    events.push(...batch.map((r) => r.event));
    for (const message of batch) positions.record(message);
  },
});

/** Every login event written so far is consumed: the outbox has published it all and the consumer has read the topic to its end. */
async function consumedEverything(): Promise<void> {
  await waitFor('the outbox to have published every login event', async () => {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox_event WHERE topic = $1 AND published_at IS NULL', [TOPICS.login]);
    return rows[0]!.n === 0;
  });
  const ends = await topicEndOffsets(operatorKafkaSettings(stack, 'login-tests-offsets'), TOPICS.login);
  await waitFor('the consumer at the end of the login topic', () => positions.reached(ends));
}

const call = (path: string, body: unknown, init: { apiKey?: string | null; contentType?: string } = {}) => postJson(stack, `${base}${path}`, body, init);

function approve(userCode: string, username: string, extra: string[] = []) {
  const user = stack.idp.users.find((u) => u.username === username)!;
  const run = spawnSync('npx', ['fedgate', 'dev', 'approve', '--user-code', userCode, '--username', username, '--password', user.password, ...extra], { cwd: repoRoot(), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

async function startLogin() {
  const res = await call('/v1/device/authorize', {});
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { device_code: string; user_code: string; verification_uri_complete: string; interval: number; expires_in: number; authn_type: string };
}

/** A complete login as `username`: authorize, first poll pending, sign-in, poll after the interval. */
async function loginAs(username: string) {
  const login = await startLogin();
  assert.equal((await call('/v1/device/token', { device_code: login.device_code })).body.error, 'authorization_pending');
  approve(login.user_code, username);
  await sleep(login.interval);
  const tokens = await call('/v1/device/token', { device_code: login.device_code });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return { login, tokens: tokens.body as { access_token: string; refresh_token: string; token_type: string; expires_in: number; account: { flwr_aid: string; account_name: string } } };
}

const ofType = (type: string, predicate: (e: FedgateEvent) => boolean = () => true) => events.filter((e) => e.type === type && predicate(e));
const data = (e: FedgateEvent) => e.data as Record<string, any>;

describe('login-service: the OIDC device flow for flwr login', { timeout: 300_000 }, () => {
  before(() => consumer.start());
  after(async () => {
    await consumer.stop();
    await prisma.$disconnect();
    await pool.end();
  });

  it('completes a device login driven through the REST API, with tokens that verify and audit events on Kafka', async () => {
    const { login, tokens } = await loginAs('alice');
    assert.equal(login.authn_type, 'oidc');
    assert.match(login.verification_uri_complete, /user_code=/);
    assert.equal(tokens.token_type, 'Bearer');
    assert.deepEqual(tokens.account, { flwr_aid: 'alice', account_name: 'alice' });

    const jwks = createRemoteJWKSet(new URL(`${stack.idp.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: stack.idp.issuer, audience: stack.idp.audience });
    assert.equal(payload.sub, 'alice');

    const hash = sha256Hex(login.device_code);
    await waitFor('login.started and login.succeeded on Kafka', () =>
      ofType('fedgate.login.started.v1', (e) => data(e).device_code_hash === hash).length === 1 && ofType('fedgate.login.succeeded.v1', (e) => data(e).device_code_hash === hash).length === 1,
    );
    const succeeded = ofType('fedgate.login.succeeded.v1', (e) => data(e).device_code_hash === hash)[0]!;
    assert.equal(data(succeeded).pending_polls, 1, 'pending polls are counted on the final event');
    assert.equal(data(succeeded).access_token_hash, sha256Hex(tokens.access_token));
    assert.equal(data(succeeded).origin.client_id, stack.service_name, 'the SuperLink key, by its name');
    assert.match(data(succeeded).origin.source_ip, /127\.0\.0\.1/);
    assert.equal(succeeded.subject, `login:${hash}`, "one login's events share a key, so they stay ordered");
    await waitFor('account.seen', () => ofType('fedgate.account.seen.v1', (e) => e.subject === 'flwr_aid:alice').length > 0);
    const everything = JSON.stringify(events);
    for (const secret of [tokens.access_token, tokens.refresh_token, login.device_code]) assert.ok(!everything.includes(secret), 'no raw token in any event');

    // a device code is redeemed once
    const again = await call('/v1/device/token', { device_code: login.device_code });
    assert.deepEqual([again.status, again.body.error], [400, 'invalid_grant']);
  });

  it('answers slow_down to a caller polling faster than the interval, without losing the login', async () => {
    const login = await startLogin();
    assert.equal((await call('/v1/device/token', { device_code: login.device_code })).body.error, 'authorization_pending');
    const fast = await call('/v1/device/token', { device_code: login.device_code });
    assert.deepEqual([fast.status, fast.body.error], [400, 'slow_down']);
    assert.match(fast.body.error_description, /10 seconds/);
    approve(login.user_code, 'bob');
    await sleep(login.interval + 5);
    const tokens = await call('/v1/device/token', { device_code: login.device_code });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.account.flwr_aid, 'bob');
  });

  it('answers access_denied when the user cancels, and keeps answering it', async () => {
    const login = await startLogin();
    approve(login.user_code, 'bob', ['--deny']);
    const denied = await call('/v1/device/token', { device_code: login.device_code });
    assert.deepEqual([denied.status, denied.body.error], [400, 'access_denied']);
    assert.equal((await call('/v1/device/token', { device_code: login.device_code })).body.error, 'access_denied');
    const hash = sha256Hex(login.device_code);
    await waitFor('login.denied', () => ofType('fedgate.login.denied.v1', (e) => data(e).device_code_hash === hash).length === 1);
  });

  it('answers expired_token once the device code has expired', async () => {
    const login = await startLogin();
    const hash = sha256Hex(login.device_code);
    // the dev IdP's codes live 10 minutes: move this login's expiry into the past instead of waiting
    await prisma.deviceLogin.update({ where: { deviceCodeHash: hash }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await call('/v1/device/token', { device_code: login.device_code });
    assert.deepEqual([expired.status, expired.body.error], [400, 'expired_token']);
    await waitFor('login.expired', () => ofType('fedgate.login.expired.v1', (e) => data(e).device_code_hash === hash).length === 1);
  });

  it('closes a login that expired unpolled, with its final audit event (exactly once)', async () => {
    const login = await startLogin();
    const hash = sha256Hex(login.device_code);
    assert.equal((await call('/v1/device/token', { device_code: login.device_code })).body.error, 'authorization_pending');
    await prisma.deviceLogin.update({ where: { deviceCodeHash: hash }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const outbox = new OutboxStore(pool);
    await new ExpireDeviceLogins({ prisma, outbox }).execute();
    await new ExpireDeviceLogins({ prisma, outbox }).execute();
    await waitFor('login.expired for the unpolled login', () => ofType('fedgate.login.expired.v1', (e) => data(e).device_code_hash === hash).length === 1);
    const expired = ofType('fedgate.login.expired.v1', (e) => data(e).device_code_hash === hash)[0]!;
    assert.equal(data(expired).pending_polls, 1);
    await consumedEverything(); // a duplicate from the second run would be here by now
    assert.equal(ofType('fedgate.login.expired.v1', (e) => data(e).device_code_hash === hash).length, 1, 'once, however often it runs');
    assert.equal((await call('/v1/device/token', { device_code: login.device_code })).body.error, 'expired_token');
  });

  it('refreshes; a rotated-out refresh token presented again revokes the whole session', async () => {
    const { tokens } = await loginAs('alice');
    const refreshed = await call('/v1/token/refresh', { refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token, 'the IdP rotated the refresh token');
    assert.deepEqual(refreshed.body.account, tokens.account);
    await waitFor('token.refreshed', () => ofType('fedgate.token.refreshed.v1', (e) => data(e).previous_refresh_token_hash === sha256Hex(tokens.refresh_token)).length === 1);

    const reuse = await call('/v1/token/refresh', { refresh_token: tokens.refresh_token });
    assert.deepEqual([reuse.status, reuse.body.error], [400, 'invalid_grant']);
    await waitFor('refresh reuse detected and session revoked', () =>
      ofType('fedgate.token.refresh_reuse_detected.v1', (e) => data(e).refresh_token_hash === sha256Hex(tokens.refresh_token)).length === 1 &&
      ofType('fedgate.session.revoked.v1', (e) => data(e).reason === 'refresh_reuse' && data(e).token_hashes.includes(sha256Hex(refreshed.body.access_token))).length === 1,
    );
    const afterRevocation = await call('/v1/token/refresh', { refresh_token: refreshed.body.refresh_token });
    assert.deepEqual([afterRevocation.status, afterRevocation.body.error], [400, 'invalid_grant'], 'the newest refresh token is dead too');
  });

  it('logs out: the session is revoked everywhere', async () => {
    const { tokens } = await loginAs('bob');
    const out = await call('/v1/logout', { refresh_token: tokens.refresh_token });
    assert.equal(out.status, 204);
    await waitFor('session.revoked (logout)', () =>
      ofType('fedgate.session.revoked.v1', (e) => data(e).reason === 'logout' && data(e).token_hashes.includes(sha256Hex(tokens.access_token))).length === 1,
    );
    assert.equal((await call('/v1/token/refresh', { refresh_token: tokens.refresh_token })).body.error, 'invalid_grant');
  });

  it('serves the RFC-shaped facade for SuperLinks configured with plain OIDC URLs', async () => {
    const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
    const da = await call('/oauth2/device_authorization', form({ client_id: 'superlink' }), { apiKey: null, contentType: 'application/x-www-form-urlencoded' });
    assert.equal(da.status, 200, JSON.stringify(da.body));
    assert.ok(da.body.device_code && da.body.user_code && da.body.verification_uri && !('authn_type' in da.body));
    const poll = await call('/oauth2/token', form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: da.body.device_code }), { apiKey: null, contentType: 'application/x-www-form-urlencoded' });
    assert.deepEqual([poll.status, poll.body.error], [400, 'authorization_pending']);
    const password = await call('/oauth2/token', form({ grant_type: 'password', username: 'alice', password: 'x' }), { apiKey: null, contentType: 'application/x-www-form-urlencoded' });
    assert.deepEqual([password.status, password.body.error], [400, 'unsupported_grant_type']);
  });

  it('refuses bad input with stable codes and keeps serving', async () => {
    const noKey = await call('/v1/device/authorize', {}, { apiKey: null });
    assert.deepEqual([noKey.status, noKey.body.error], [401, 'invalid_client']);
    assert.equal((await call('/v1/device/authorize', {}, { apiKey: 'wrong' })).body.error, 'invalid_client');
    const badJson = await call('/v1/device/token', '{"device_code":');
    assert.deepEqual([badJson.status, badJson.body.error], [400, 'invalid_request']);
    assert.equal((await call('/v1/device/token', { device_code: 'never-issued' })).body.error, 'invalid_grant');
    assert.equal((await call('/v1/device/token', {})).body.error, 'invalid_request');
    assert.equal((await call('/v1/device/token', 'device_code=x', { contentType: 'text/plain' })).body.error, 'unsupported_media_type');
    assert.equal((await call('/v1/device/token', { device_code: 'x'.repeat(100_000) })).status, 413);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  it('answers 503 idp_unavailable quickly while the IdP is down', async () => {
    assert.equal(runProjectScript('scripts/infra/dev-idp.sh', ['stop']).status, 0);
    try {
      const started = Date.now();
      const res = await call('/v1/device/authorize', {});
      assert.deepEqual([res.status, res.body.error], [503, 'idp_unavailable']);
      assert.ok(Date.now() - started < 15_000, 'a timeout, not a hang');
      assert.doesNotMatch(JSON.stringify(res.body), /\n\s+at /);
    } finally {
      assert.equal(runProjectScript('scripts/infra/dev-idp.sh', ['start']).status, 0);
    }
    assert.equal((await call('/v1/device/authorize', {})).status, 200, 'recovers when the IdP is back');
  });
});

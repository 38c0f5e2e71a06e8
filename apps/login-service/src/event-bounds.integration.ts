// Bounded events on the real stack: an event Kafka refuses for good goes to the dead-letter
// table (with a metric and an audit alert) and delivery goes on; 10,000 refreshes of one
// session keep the session and its revocation event small, while other events keep flowing.
// The refreshes go to a login-service process of the test's own whose rate limit is raised
// (FEDGATE_LOGIN_RATE_LIMIT): the stack's limit would answer 429 long before 10,000. It signs in
// at a dev IdP process of the test's own whose access tokens live an hour, so none expires
// (freeing room in the session) while the refreshes run, however slow the machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createCloudEvent, sha256Hex } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { deviceLogin, freePort, postJson, repoRoot, startServiceProcess, uniqueSuffix, waitFor, withPg } from '@fedgate/testing';

const stack = readStackFile();
const REFRESHES = 10_000;
// the login-service's FEDGATE_SESSION_MAX_TOKENS default
const SESSION_MAX_TOKENS = 100;

const query = <R extends Record<string, unknown>>(sql: string, values: unknown[] = []) => withPg(stack.postgres.url, async (c) => (await c.query<R>(sql, values)).rows);

/** A dev IdP process of the test's own (the stack's users, access tokens living an hour); resolves with its issuer and a stop. */
async function startDevIdp(): Promise<{ issuer: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const issuer = `https://127.0.0.1:${port}`;
  const child = spawn('node', [path.join(repoRoot(), 'dist/apps/dev-idp/src/main.js')], {
    env: {
      ...process.env,
      IDP_PORT: String(port),
      FEDGATE_IDP_ISSUER: issuer,
      FEDGATE_IDP_JWKS_FILE: path.join(mkdtempSync(path.join(tmpdir(), 'fedgate-idp-')), 'jwks.json'),
      FEDGATE_IDP_USERS: JSON.stringify(stack.idp.users.map((u) => ({ username: u.username, password: u.password }))),
      FEDGATE_IDP_ACCESS_TOKEN_TTL: '3600',
    },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  await waitFor('the test IdP', async () => child.exitCode === null && (await fetch(`${issuer}/.well-known/openid-configuration`)).ok, 60_000, 250);
  return { issuer, stop };
}

/** The dead-letter counter summed over the four services (whichever relay met the event). */
async function deadLetterMetric(): Promise<number> {
  let total = 0;
  for (const base of Object.values(stack.services)) {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const line of text.split('\n')) if (line.startsWith('fedgate_outbox_dead_letters_total{')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

describe('bounded events', { timeout: 1_200_000 }, () => {
  it('moves an event Kafka refuses to the dead-letter table, alerts, and delivers the next events', async () => {
    const nonce = `dlq-${uniqueSuffix()}`;
    // what an unbounded session produced before: a session.revoked event of about 1.4 MB
    const huge = createCloudEvent({
      type: 'fedgate.session.revoked.v1',
      source: '/fedgate/tests/dead-letter',
      data: { flwr_aid: `dlq-${uniqueSuffix()}`, reason: 'refresh_reuse', token_hashes: Array.from({ length: 20_000 }, (_, i) => sha256Hex(`${nonce}-${i}`)) },
    });
    const next = createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests/dead-letter', data: { message: 'after the huge one', nonce } });
    const metricBefore = await deadLetterMetric();
    await withPg(stack.postgres.url, async (c) => {
      for (const e of [huge, next]) await c.query('INSERT INTO outbox_event (id, topic, key, event) VALUES ($1, $2, $3, $4)', [e.id, 'fedgate.login.v1', e.subject, JSON.stringify(e)]);
    });

    await waitFor('the next event in the audit log', async () => (await query('SELECT 1 FROM audit_event WHERE id = $1', [next.id])).length === 1, 60_000, 250);
    // (the relay commits the move after its send: the audit log may see the next event first)
    const dead = await waitFor('the huge event in the dead-letter table', async () => (await query<{ size_bytes: number }>('SELECT size_bytes FROM outbox_dead_letter WHERE id = $1', [huge.id]))[0], 10_000, 100);
    assert.ok(dead.size_bytes > 1_000_000, `${dead.size_bytes} bytes`);
    assert.equal((await query('SELECT 1 FROM outbox_event WHERE id = $1', [huge.id])).length, 0, 'and no longer in the outbox');
    await waitFor('the dead-letter alert in the audit log', async () => {
      const rows = await query<{ outcome: string }>(`SELECT outcome FROM audit_event WHERE type = 'fedgate.outbox.dead_lettered.v1' AND data->>'event_id' = $1`, [huge.id]);
      return rows.length === 1 && rows[0]!.outcome === 'failure';
    }, 60_000, 250);
    assert.ok((await deadLetterMetric()) > metricBefore, 'fedgate_outbox_dead_letters_total counted it');
  });

  it(`keeps one session bounded through ${REFRESHES.toLocaleString('en')} refreshes; its revocation event stays small and other events keep flowing`, async (t) => {
    const idp = await startDevIdp();
    t.after(() => idp.stop());
    const unlimited = await startServiceProcess('login-service', { FEDGATE_LOGIN_RATE_LIMIT: String(REFRESHES * 2), FEDGATE_OIDC_ISSUER: idp.issuer });
    t.after(() => unlimited.stop());
    const first = await deviceLogin({ ...stack, services: { ...stack.services, login: unlimited.base }, idp: { ...stack.idp, issuer: idp.issuer } }, 'alice');
    const probe = `bounds-${uniqueSuffix()}`;
    let refreshing = true;
    // other events meanwhile: a decision every 100 ms, each recorded in the outbox before its answer
    const probes = (async () => {
      let answered = 0;
      while (refreshing) {
        const res = await postJson(stack, `${stack.services.authz}/v1/check`, { flwr_aid: probe, relation: 'has_access', object: `service:${stack.service_name}` });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        answered += 1;
        await delay(100);
      }
      return answered;
    })();

    let refreshToken = first.refresh_token;
    const outcomes = new Map<string, number>();
    const refresh = async () => {
      const res = await postJson(stack, `${unlimited.base}/v1/token/refresh`, { refresh_token: refreshToken });
      const outcome = res.status === 200 ? '200' : `${res.status} ${res.body.error}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      return res;
    };
    let sent = 0;
    try {
      // one after the other (each refresh rotates the token) until the session is full...
      for (; sent < REFRESHES; sent++) {
        const res = await refresh();
        if (res.status !== 200) {
          assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant'], JSON.stringify(res.body));
          assert.match(res.body.error_description, /unexpired access tokens/);
          sent += 1;
          break;
        }
        refreshToken = res.body.refresh_token;
      }
      // ...then the rest, 16 at a time with the same (still active) token: each is refused by the
      // cap before the token is taken, so none counts as reuse, and the session grows no more
      const refusals = async () => {
        while (sent < REFRESHES) {
          sent += 1;
          const res = await refresh();
          assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant'], JSON.stringify(res.body));
        }
      };
      await Promise.all(Array.from({ length: 16 }, refusals));
    } finally {
      refreshing = false;
    }
    const probed = await probes;
    t.diagnostic(`refresh outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}; ${probed} decisions meanwhile`);
    assert.ok((outcomes.get('200') ?? 0) >= SESSION_MAX_TOKENS - 1, 'refreshes succeeded up to the cap');

    const [session] = await query<{ session_id: string }>('SELECT session_id FROM session_token WHERE token_hash = $1', [sha256Hex(first.access_token)]);
    const [{ live }] = await query<{ live: number }>(`SELECT count(*)::int AS live FROM session_token WHERE session_id = $1 AND kind = 'access' AND expires_at > now()`, [session!.session_id]);
    assert.ok(live <= SESSION_MAX_TOKENS, `${live} access tokens held`);

    // every decision made meanwhile reached Kafka, none waited long
    await waitFor('every decision event published', async () => {
      const [row] = await query<{ waiting: number }>(`SELECT count(*)::int AS waiting FROM outbox_event WHERE topic = 'fedgate.authz.v1' AND event->'data'->>'flwr_aid' = $1 AND published_at IS NULL`, [probe]);
      return row!.waiting === 0;
    }, 30_000, 250);
    const [lag] = await query<{ published: number; max_ms: number }>(
      `SELECT count(*)::int AS published, (extract(epoch FROM max(published_at - created_at)) * 1000)::int AS max_ms FROM outbox_event WHERE topic = 'fedgate.authz.v1' AND event->'data'->>'flwr_aid' = $1`,
      [probe],
    );
    t.diagnostic(`${lag!.published} decision events, the slowest published ${lag!.max_ms} ms after it was written`);
    assert.equal(lag!.published, probed);
    assert.ok(lag!.max_ms < 5000, 'delivery never stopped');

    // reuse of the first refresh token: the session is revoked with a small event, delivered
    const reuse = await postJson(stack, `${unlimited.base}/v1/token/refresh`, { refresh_token: first.refresh_token });
    assert.deepEqual([reuse.status, reuse.body.error], [400, 'invalid_grant']);
    const revoked = await waitFor('the session.revoked event published', async () => {
      const [row] = await query<{ bytes: number; hashes: number; published: boolean }>(
        `SELECT octet_length(event::text) AS bytes, jsonb_array_length(event->'data'->'token_hashes') AS hashes, published_at IS NOT NULL AS published
         FROM outbox_event WHERE topic = 'fedgate.login.v1' AND event->>'type' = 'fedgate.session.revoked.v1' AND event->'data'->>'session_id' = $1`,
        [session!.session_id],
      );
      return row?.published ? row : undefined;
    }, 30_000, 250);
    t.diagnostic(`session.revoked: ${revoked.bytes} bytes, ${revoked.hashes} token hashes`);
    assert.ok(revoked.hashes <= SESSION_MAX_TOKENS + 1);
    assert.ok(revoked.bytes < 64 * 1024);
    assert.equal((await query('SELECT 1 FROM outbox_dead_letter WHERE event->\'data\'->>\'session_id\' = $1', [session!.session_id])).length, 0);
  });
});

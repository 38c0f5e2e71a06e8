// Revocation that fails closed, on the real stack: a token-service started while Kafka is down
// refuses a revoked token from its first answer on; after refresh-token reuse, a token minted
// at the IdP itself for that session (never seen by Fedgate) is refused, and the IdP refuses
// the session's refresh token too.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sha256Hex } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { deviceLogin, postJson, runProjectScript, startServiceProcess, waitFor, waitForStreak, withPg, type ServiceProcess } from '@fedgate/testing';

const stack = readStackFile();
const login = stack.services.login;
const verify = (base: string, token: string, init: { newConnection?: boolean } = {}) => postJson(stack, `${base}/v1/verify`, { access_token: token }, init);
/** A verification on a new connection: node:cluster hands each to the next worker. */
const verifyAtNextWorker = (base: string, token: string) => verify(base, token, { newConnection: true });

function kafka(action: 'start' | 'stop'): void {
  const result = runProjectScript('scripts/infra/kafka.sh', [action]);
  assert.equal(result.status, 0, `kafka ${action}: ${result.stderr}`);
}

/** Refreshes straight at the IdP's token endpoint, as someone holding the refresh token could, bypassing Fedgate. */
async function refreshAtIdp(refreshToken: string): Promise<{ status: number; body: Record<string, any> }> {
  const discovery = (await (await fetch(`${stack.idp.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'fedgate' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function auditedRejections(tokenHash: string): Promise<string[]> {
  return withPg(stack.postgres.url, async (c) => {
    const { rows } = await c.query<{ error: string }>(
      `SELECT data->>'error' AS error FROM audit_event WHERE type = 'fedgate.token.rejected.v1' AND data->>'access_token_hash' = $1`,
      [tokenHash],
    );
    return rows.map((r) => r.error);
  });
}

describe('revocation fails closed', { timeout: 300_000 }, () => {
  const started: ServiceProcess[] = [];
  after(async () => {
    for (const instance of started) await instance.stop();
    // whatever happened, Kafka runs again for the other tests
    kafka('start');
  });

  it('a token-service started while Kafka is down refuses a revoked token from its first answer on', async (t) => {
    const tokens = await deviceLogin(stack, 'alice');
    assert.equal((await verify(stack.services.token, tokens.access_token)).status, 200);
    kafka('stop');
    try {
      // the logout commits the revocation in PostgreSQL; its event waits in the outbox
      assert.equal((await postJson(stack, `${login}/v1/logout`, { refresh_token: tokens.refresh_token })).status, 204);
      // a token-service process of its own, started now: it never heard the event
      const instance = await startServiceProcess('token-service', {}, false);
      started.push(instance);
      const base = instance.base;
      const answers: string[] = [];
      // from the moment its port opens: every answer, none skipped
      await waitFor('20 revoked_token answers from the new instance', async () => {
        let res;
        try {
          res = await verify(base, tokens.access_token);
        } catch {
          return false; // not listening yet
        }
        answers.push(`${res.status} ${res.body.error ?? res.body.active}`);
        return answers.filter((a) => a === '401 revoked_token').length >= 20;
      }, 90_000, 20);
      t.diagnostic(`answers from the first on: ${[...new Set(answers)].join(', ')} (${answers.length} in all)`);
      assert.deepEqual(answers.filter((a) => a !== '401 revoked_token' && !a.startsWith('503 ')), [], 'only revoked_token, or 503 before it could know');
      assert.equal(answers.some((a) => a.startsWith('200')), false, 'never active');
      assert.equal((await fetch(`${base}/readyz`)).status, 503, 'not ready while Kafka is down, yet never wrong');
    } finally {
      kafka('start');
    }
  });

  it('after refresh-token reuse, a token minted at the IdP for that session is refused, and the IdP ends the session too', async () => {
    const first = await deviceLogin(stack, 'bob');
    const second = await postJson(stack, `${login}/v1/token/refresh`, { refresh_token: first.refresh_token });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    // someone holding the new refresh token mints at the IdP itself, bypassing Fedgate
    const minted = await refreshAtIdp(second.body.refresh_token);
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    const mintedHash = sha256Hex(minted.body.access_token);
    const known = await withPg(stack.postgres.url, (c) => c.query('SELECT 1 FROM session_token WHERE token_hash = $1', [mintedHash]));
    assert.equal(known.rowCount, 0, 'Fedgate never saw the minted token');
    assert.equal((await verify(stack.services.token, minted.body.access_token)).status, 200, 'valid before the reuse');

    // the first, rotated-out refresh token presented again: reuse
    const reuse = await postJson(stack, `${login}/v1/token/refresh`, { refresh_token: first.refresh_token });
    assert.deepEqual([reuse.status, reuse.body.error], [400, 'invalid_grant']);

    // The stack's token-service runs two workers (node:cluster), each with its own revoked-session
    // list: one may hear of the revocation up to FEDGATE_REVOCATION_REFRESH_MS after the other.
    const refused = async (token: string) => (await verifyAtNextWorker(stack.services.token, token)).body.error === 'revoked_token';
    await waitForStreak('the minted token and the session\'s own token refused by every worker', async () => (await refused(minted.body.access_token)) && (await refused(second.body.access_token)), 10, 5000, 50);
    // from then on by every worker, every time
    for (let i = 0; i < 20; i++) {
      for (const [name, token] of [['minted', minted.body.access_token], ["the session's own", second.body.access_token]] as const) {
        const res = await verifyAtNextWorker(stack.services.token, token);
        assert.deepEqual([res.status, res.body.error], [401, 'revoked_token'], `${name} token, answer ${i + 1}`);
      }
    }
    // revoked at the IdP as well: the other party cannot mint any more
    const again = await refreshAtIdp(minted.body.refresh_token);
    assert.deepEqual([again.status, again.body.error], [400, 'invalid_grant'], JSON.stringify(again.body));
    // and the refusal of the minted token is in the audit log
    await waitFor('the refusal in the audit log', async () => (await auditedRejections(mintedHash)).includes('revoked_token'), 30_000, 250);
  });
});

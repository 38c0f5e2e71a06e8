// Rate limits of the unauthenticated login calls, on a login-service process of the test's own
// (limit 5 per minute, so the stack's own budget stays untouched for the other tests): past the
// limit, 429 too_many_requests with Retry-After, in both the /v1 and the /oauth2 form, per
// operation, per client and per source address.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { readStackFile } from '@fedgate/stack';
import { postJson, startServiceProcess, type ServiceProcess } from '@fedgate/testing';

const stack = readStackFile();
const LIMIT = 5;

/** A POST from another loopback source address (127.0.0.2): another caller as far as the limit goes. */
function postFrom(localAddress: string, url: string, body: string, contentType: string, key?: string): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': contentType, ...(key ? { 'x-fedgate-key': key } : {}) };
    const req = https.request(url, { method: 'POST', localAddress, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, any>) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('login rate limits', { timeout: 120_000 }, () => {
  let login: ServiceProcess;
  before(async () => {
    login = await startServiceProcess('login-service', { FEDGATE_LOGIN_RATE_LIMIT: String(LIMIT), FEDGATE_LOGIN_RATE_WINDOW_MS: '60000' });
  });
  after(() => login.stop());

  it('refresh: past the budget of one client and source, 429 too_many_requests with Retry-After; another client or source has its own', async () => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await postJson(stack, `${login.base}/v1/token/refresh`, { refresh_token: `guess-${i}` });
      assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant']);
    }
    const v1 = await postJson(stack, `${login.base}/v1/token/refresh`, { refresh_token: 'one-more' });
    assert.deepEqual([v1.status, v1.body.error], [429, 'too_many_requests']);
    const retryAfter = Number(v1.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const oauth2 = await postJson(stack, `${login.base}/oauth2/token`, form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'flwr' }), { contentType: 'application/x-www-form-urlencoded', apiKey: null });
    // the /oauth2 form names its own client: a budget of its own, not yet spent
    assert.deepEqual([oauth2.status, oauth2.body.error], [400, 'invalid_grant']);
    // another source address is another caller
    const elsewhere = await postFrom('127.0.0.2', `${login.base}/v1/token/refresh`, JSON.stringify({ refresh_token: 'x' }), 'application/json', stack.api_key);
    assert.deepEqual([elsewhere.status, elsewhere.body.error], [400, 'invalid_grant']);
  });

  it('token polling and device authorization have budgets of their own, in both forms', async () => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await postJson(stack, `${login.base}/oauth2/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: `guess-${i}`, client_id: 'flwr' }), { contentType: 'application/x-www-form-urlencoded', apiKey: null });
      assert.deepEqual([res.status, res.body.error], [400, 'invalid_grant']);
    }
    const polled = await postJson(stack, `${login.base}/oauth2/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'x', client_id: 'flwr' }), { contentType: 'application/x-www-form-urlencoded', apiKey: null });
    assert.deepEqual([polled.status, polled.body.error], [429, 'too_many_requests']);
    // the same client's refresh budget is separate (one of the 5 used above)
    const refresh = await postJson(stack, `${login.base}/oauth2/token`, form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'flwr' }), { contentType: 'application/x-www-form-urlencoded', apiKey: null });
    assert.equal(refresh.status, 400);

    for (let i = 0; i < LIMIT; i++) {
      const res = await postJson(stack, `${login.base}/v1/device/authorize`, {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const started = await postJson(stack, `${login.base}/v1/device/authorize`, {});
    assert.deepEqual([started.status, started.body.error], [429, 'too_many_requests']);
    assert.ok(Number(started.headers.get('retry-after')) >= 1);
  });
});

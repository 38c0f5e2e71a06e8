// The audit log against the real stack: a login, token checks and permission checks become
// events that the query API finds by actor, type, outcome, object and time, page by page.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { AuditEvent, IntegrityResponse } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { deviceLogin, postJson, uniqueSuffix, waitFor } from '@fedgate/testing';
import { allPages, getJson } from './audit-test-support';

const stack = readStackFile();
const audit = stack.services.audit;

describe('audit-service on the real stack', () => {
  let flwrAid = '';
  let runObject = '';
  // how the log names that run: in the service of the SuperLink key that asked (run ids are per service)
  const stored = () => runObject.replace(/^run:/, `run:${stack.service_name}/`);
  let startedAt = '';
  let mine: AuditEvent[] = [];

  before(async () => {
    startedAt = new Date(Date.now() - 1000).toISOString();
    const tokens = await deviceLogin(stack, 'alice');
    flwrAid = tokens.account.flwr_aid;
    // a verification that succeeds and one that fails
    assert.equal((await postJson(stack, `${stack.services.token}/v1/verify`, { access_token: tokens.access_token })).status, 200);
    assert.equal((await postJson(stack, `${stack.services.token}/v1/verify`, { access_token: `not-a-token-${uniqueSuffix()}` })).status, 401);

    // three permission checks: alice may use the service (bootstrap admin); an unregistered run is denied
    // Flower run ids are unsigned 64-bit integers: milliseconds + pid, a run nobody registered
    runObject = `run:${Date.now()}${String(process.pid % 100_000).padStart(5, '0')}`;
    const checks = [
      { relation: 'has_access', object: `service:${stack.service_name}` },
      { relation: 'can_view', object: runObject },
      { relation: 'can_stop', object: runObject },
    ];
    for (const check of checks) {
      const res = await postJson(stack, `${stack.services.authz}/v1/check`, { flwr_aid: flwrAid, ...check });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    mine = await waitFor(
      "the login's and checks' events in the audit log",
      async () => {
        const { events } = await allPages(stack, new URLSearchParams({ actor: flwrAid, since: startedAt, limit: '1000' }));
        const types = events.map((e) => e.type);
        const decisions = events.filter((e) => e.type === 'fedgate.authz.decision.v1' && e.object !== null).length;
        return types.includes('fedgate.login.succeeded.v1') && types.includes('fedgate.token.verified.v1') && decisions >= 3 && events;
      },
      30_000,
      250,
    );
  });

  it('records the login, the verifications and the checks', () => {
    const types = new Set(mine.map((e) => e.type));
    for (const type of ['fedgate.login.succeeded.v1', 'fedgate.account.seen.v1', 'fedgate.token.verified.v1', 'fedgate.authz.decision.v1']) assert.ok(types.has(type), `${type} recorded`);
    const login = mine.find((e) => e.type === 'fedgate.login.succeeded.v1')!;
    assert.equal(login.actor?.flwr_aid, flwrAid);
    assert.equal(login.action, 'login');
    assert.equal(login.outcome, 'success');
    assert.equal(login.source, '/fedgate/login-service');
    // no token in any stored event, only hashes
    assert.doesNotMatch(JSON.stringify(mine), /eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it('filters by type, outcome and object', async () => {
    const decisions = await allPages(stack, new URLSearchParams({ actor: flwrAid, type: 'fedgate.authz.decision.v1', since: startedAt }));
    assert.ok(decisions.events.length >= 3);
    assert.ok(decisions.events.every((e) => e.type === 'fedgate.authz.decision.v1' && e.actor?.flwr_aid === flwrAid && e.decision_id));

    const onRun = (await allPages(stack, new URLSearchParams({ object: stored() }))).events;
    assert.deepEqual(onRun.map((e) => e.action).sort(), ['check.can_stop', 'check.can_view']);
    const denied = (await allPages(stack, new URLSearchParams({ object: stored(), outcome: 'denied' }))).events;
    assert.deepEqual(denied.map((e) => e.action).sort(), ['check.can_stop', 'check.can_view']);
    assert.deepEqual((await allPages(stack, new URLSearchParams({ object: stored(), outcome: 'success' }))).events, []);
    const allowed = (await allPages(stack, new URLSearchParams({ actor: flwrAid, outcome: 'success', object: `service:${stack.service_name}`, since: startedAt }))).events;
    assert.ok(allowed.some((e) => e.action === 'check.has_access'));

    // (the refusal has no actor, so the wait in before() does not cover it: it may arrive a moment later)
    await waitFor(
      'the refused token recorded as a failure',
      async () => (await allPages(stack, new URLSearchParams({ type: 'fedgate.token.rejected.v1', outcome: 'failure', since: startedAt }))).events.length >= 1,
      30_000,
      250,
    );
    assert.deepEqual((await allPages(stack, new URLSearchParams({ actor: flwrAid, until: startedAt, since: new Date(Date.parse(startedAt) - 1).toISOString() }))).events, []);
  });

  it('pages newest first without gaps or repeats', async () => {
    // since: a stack that ran benchmarks holds far more than 1,000 of alice's events
    const whole = (await getJson<{ events: AuditEvent[] }>(stack, `/v1/events?actor=${flwrAid}&since=${startedAt}&limit=1000`)).body.events;
    const paged = await allPages(stack, new URLSearchParams({ actor: flwrAid, since: startedAt, limit: '2' }));
    assert.ok(paged.pages >= 3, `${paged.pages} pages`);
    assert.deepEqual(paged.events.map((e) => e.seq), whole.map((e) => e.seq));
    for (let i = 1; i < paged.events.length; i++) assert.ok(paged.events[i - 1]!.seq > paged.events[i]!.seq, 'strictly newest first');
    // an unfiltered walk over the newest 25 events, 4 at a time, while events keep arriving
    const first = (await getJson<{ events: AuditEvent[] }>(stack, '/v1/events?limit=25')).body.events;
    const walked: number[] = [];
    let cursor: string | null = null;
    while (walked.length < 25) {
      const page: { body: { events: AuditEvent[]; next_cursor: string | null } } = await getJson(stack, `/v1/events?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      walked.push(...page.body.events.map((e) => e.seq));
      cursor = page.body.next_cursor;
      if (!cursor) break;
    }
    const newestSeq = first[0]!.seq;
    const expected = first.map((e) => e.seq).filter((s) => s <= newestSeq);
    const fromWalk = walked.filter((s) => s <= newestSeq).slice(0, expected.length);
    assert.deepEqual(fromWalk, expected);
    assert.equal(new Set(walked).size, walked.length, 'no event twice');
  });

  it('follows with after_seq, oldest first', async () => {
    const oldest = mine.at(-1)!;
    const { body } = await getJson<{ events: AuditEvent[] }>(stack, `/v1/events?actor=${flwrAid}&after_seq=${oldest.seq - 1}&limit=1000`);
    assert.deepEqual(body.events.map((e) => e.seq), [...mine].reverse().map((e) => e.seq).filter((s) => s >= oldest.seq).slice(0, body.events.length));
    assert.equal(body.events[0]!.seq, oldest.seq);
  });

  it('answers one event by id, and 404 for an unknown one', async () => {
    const event = mine[0]!;
    const one = await getJson<AuditEvent>(stack, `/v1/events/${encodeURIComponent(event.id)}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, event);
    const missing = await getJson(stack, `/v1/events/${randomUUID()}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, 'not_found');
  });

  it('exports the same events as NDJSON, oldest first', async () => {
    const res = await fetch(`${audit}/v1/events/export?format=ndjson&actor=${flwrAid}&since=${startedAt}`, { headers: { 'x-fedgate-key': stack.admin_api_key } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const text = await res.text();
    assert.ok(text.endsWith('\n'));
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    const whole = (await getJson<{ events: AuditEvent[] }>(stack, `/v1/events?actor=${flwrAid}&since=${startedAt}&limit=1000`)).body.events;
    assert.deepEqual(lines.map((e) => e.seq), whole.map((e) => e.seq).reverse());
    assert.deepEqual(lines.at(-1), whole[0]);
  });

  it('verifies the chain and its signed checkpoints', async () => {
    const { status, body } = await getJson<IntegrityResponse>(stack, '/v1/integrity');
    assert.equal(status, 200);
    assert.equal(body.ok, true, JSON.stringify(body));
    assert.equal(body.first_bad_seq, undefined);
    assert.ok(body.head && body.head.seq >= Math.max(...mine.map((e) => e.seq)));
    assert.equal(body.checked, body.head.seq);
    assert.match(body.public_key ?? '', /BEGIN PUBLIC KEY/);
    const checkpoints = await getJson<{ checkpoints: unknown[]; key_id: string }>(stack, '/v1/integrity/checkpoints');
    assert.equal(checkpoints.status, 200);
    assert.equal(checkpoints.body.key_id, body.key_id);
  });

  it('refuses bad filters, cursors and limits with 400 and a code', async () => {
    const cases: Array<[string, string]> = [
      ['/v1/events?limit=0', 'invalid_request'],
      ['/v1/events?limit=1001', 'invalid_request'],
      ['/v1/events?limit=ten', 'invalid_request'],
      ['/v1/events?outcome=maybe', 'invalid_request'],
      ['/v1/events?type=DROP%20TABLE', 'invalid_request'],
      ['/v1/events?since=yesterday', 'invalid_request'],
      ['/v1/events?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z', 'invalid_request'],
      ['/v1/events?actor=a&actor=b', 'invalid_request'],
      ['/v1/events?actr=alice', 'invalid_request'],
      ['/v1/events?after_seq=-1', 'invalid_request'],
      [`/v1/events?after_seq=1&cursor=${Buffer.from('seq:5').toString('base64url')}`, 'invalid_request'],
      ['/v1/events?cursor=not-a-cursor', 'invalid_cursor'],
      [`/v1/events?cursor=${Buffer.from('seq:0').toString('base64url')}`, 'invalid_cursor'],
      [`/v1/events?cursor=${Buffer.from('seq:12; DROP').toString('base64url')}`, 'invalid_cursor'],
      ['/v1/events/export?format=csv', 'invalid_request'],
      ['/v1/events/export?outcome=maybe', 'invalid_request'],
    ];
    for (const [path, code] of cases) {
      const { status, body } = await getJson(stack, path);
      assert.equal(status, 400, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error, code, path);
      assert.equal(typeof body.error_description, 'string');
    }
  });

  it('lets only callers with a key read', async () => {
    for (const path of ['/v1/events', '/v1/events/export', '/v1/integrity', `/v1/events/${randomUUID()}`]) {
      assert.equal((await getJson(stack, path, null)).status, 401, path);
      const wrong = await getJson(stack, path, 'wrong-key');
      assert.equal(wrong.status, 401, path);
      assert.equal(wrong.body.error, 'invalid_client');
    }
  });
});

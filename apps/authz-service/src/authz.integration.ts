// authz-service on the real stack (OpenFGA, Kafka, PostgreSQL): the seed's rules, private runs,
// read-your-writes, the OpenFGA-compatible Check, decision audit events, bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TOPICS, type FedgateEvent } from '@fedgate/contracts';
import { CloudEventConsumer, operatorKafkaSettings } from '@fedgate/kafka';
import { readStackFile } from '@fedgate/stack';
import { stackAdmin, uniqueSuffix, waitFor } from '@fedgate/testing';
import { authzApi, authzCall, freshRunId, projectorWorks } from './authz-client.testing';
// (persons act with their own tokens: alice is the stack's bootstrap admin, bob and carol dev users)

const stack = readStackFile();
const api = authzApi(stack);
const service = `service:${stack.service_name}`;
const admin = stackAdmin(stack);

const decisions = new Map<string, FedgateEvent<'fedgate.authz.decision.v1'>>();
const consumer = new CloudEventConsumer(
  operatorKafkaSettings(stack, 'authz-tests'),
  {
    groupId: `authz-tests-${uniqueSuffix()}`,
    topics: [TOPICS.authz],
    fromBeginning: false,
    handle: async (batch) => {
      for (const { event } of batch) if (event.type === 'fedgate.authz.decision.v1') decisions.set(event.data.decision_id, event);
    },
  },
);

describe('authz-service on the real stack', { timeout: 300_000 }, () => {
  before(async () => {
    await consumer.start();
    await waitFor('authz-service ready', async () => (await fetch(`${stack.services.authz}/readyz`)).ok, 60_000, 250);
    await projectorWorks(stack);
  });
  after(() => consumer.stop());

  it("follows the seed's rules: service access, private runs, sharing as viewer then operator, unsharing", async () => {
    const newcomer = `newcomer-${uniqueSuffix()}`;
    // a newcomer (no has_access) is denied the service; alice, its bootstrap admin, is allowed
    assert.equal(await api.allowed(newcomer, 'has_access', service), false);
    assert.equal(await api.allowed(admin, 'has_access', service), true);
    const granted = await api.grant(stack.service_name, newcomer, 'member', admin);
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(await api.allowed(newcomer, 'has_access', service, granted.body.consistency_token), true, 'granted → allowed');

    // carol (a dev user, acting with her own token) is the account the run is shared with
    const run = freshRunId();
    const registered = await api.register(run, admin, { federation: 'local-tls' });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    assert.deepEqual([registered.body.run_id, registered.body.owner], [run, admin]);
    const token = registered.body.consistency_token as string;
    const object = `run:${run}`;
    for (const relation of ['can_view', 'can_stop', 'can_read_logs', 'can_pull_artifacts']) {
      assert.equal(await api.allowed(admin, relation, object, token), true, `owner ${relation}`);
      assert.equal(await api.allowed('carol', relation, object, token), false, `carol ${relation} before sharing`);
    }
    const carolsList = await api.list('carol', token);
    assert.equal(carolsList.status, 200);
    assert.ok(!carolsList.body.runs.some((r: { run_id: string }) => r.run_id === run), 'invisible to carol in the list');
    assert.deepEqual(
      (await api.list(admin, token)).body.runs.find((r: { run_id: string }) => r.run_id === run),
      { run_id: run, role: 'owner', service: stack.service_name, federation: 'local-tls' },
      'the list shows the service and the federation the SuperLink sent',
    );

    // only the owner (or a service admin) may share: carol's own token cannot share it with herself
    const selfShare = await api.share(run, 'carol', 'viewer', 'carol');
    assert.deepEqual([selfShare.status, selfShare.body.error], [403, 'forbidden']);

    const asViewer = await api.share(run, 'carol', 'viewer', admin);
    assert.equal(asViewer.status, 200, JSON.stringify(asViewer.body));
    const viewerToken = asViewer.body.consistency_token;
    assert.equal(await api.allowed('carol', 'can_view', object, viewerToken), true, 'viewer can view');
    assert.equal(await api.allowed('carol', 'can_read_logs', object, viewerToken), true, 'viewer can read logs');
    assert.equal(await api.allowed('carol', 'can_stop', object, viewerToken), false, 'viewer cannot stop');
    assert.deepEqual(
      (await api.list('carol', viewerToken)).body.runs.find((r: { run_id: string }) => r.run_id === run),
      { run_id: run, role: 'viewer', service: stack.service_name, federation: 'local-tls' },
    );

    const asOperator = await api.share(run, 'carol', 'operator', admin);
    assert.equal(await api.allowed('carol', 'can_stop', object, asOperator.body.consistency_token), true, 'operator can stop');
    const members = await api.runMembers(run, admin, asOperator.body.consistency_token);
    assert.deepEqual(members.body, { members: [{ flwr_aid: admin, role: 'owner' }, { flwr_aid: 'carol', role: 'operator' }] });

    const unshared = await api.unshare(run, 'carol', admin);
    assert.equal(unshared.status, 200);
    for (const relation of ['can_view', 'can_stop', 'can_read_logs', 'can_pull_artifacts']) {
      assert.equal(await api.allowed('carol', relation, object, unshared.body.consistency_token), false, `${relation} taken away`);
    }
    assert.ok(!(await api.list('carol', unshared.body.consistency_token)).body.runs.some((r: { run_id: string }) => r.run_id === run));

    const revoked = await api.revoke(stack.service_name, newcomer, admin);
    assert.equal(await api.allowed(newcomer, 'has_access', service, revoked.body.consistency_token), false, 'revoked');
  });

  it('keeps a run with its first owner: 409 for another, the same answer for a repeat', async () => {
    const run = freshRunId();
    const first = await api.register(run, 'carol');
    assert.equal(first.status, 201);
    const again = await api.register(run, 'carol');
    assert.deepEqual([again.status, again.body.consistency_token], [200, first.body.consistency_token]);
    const other = await api.register(run, 'bob');
    assert.deepEqual([other.status, other.body.error], [409, 'run_exists']);
    // concurrent registrations by different owners: exactly one wins
    const contested = freshRunId();
    const answers = await Promise.all(['alice', 'bob', 'carol'].map((who) => api.register(contested, who)));
    assert.equal(answers.filter((a) => a.status === 201).length, 1, JSON.stringify(answers.map((a) => a.status)));
    assert.equal(answers.filter((a) => a.status === 409).length, 2);
  });

  it('a service admin sees every run of the service; grants need a service admin', async () => {
    const run = freshRunId();
    const registered = await api.register(run, 'carol');
    assert.equal(await api.allowed(admin, 'can_view', `run:${run}`, registered.body.consistency_token), true);
    assert.equal(await api.allowed(admin, 'can_stop', `run:${run}`, registered.body.consistency_token), true);
    assert.deepEqual((await api.list(admin, registered.body.consistency_token)).body.runs.find((r: { run_id: string }) => r.run_id === run)?.role, 'admin');
    const refused = await api.grant(stack.service_name, 'carol', 'admin', 'carol');
    assert.deepEqual([refused.status, refused.body.error], [403, 'forbidden']);
  });

  it('read-your-writes: register, then check at once with the token → allowed, 200 times out of 200', { timeout: 240_000 }, async () => {
    const owner = 'bob';
    let allowed = 0;
    for (let i = 0; i < 200; i++) {
      const run = freshRunId();
      const registered = await api.register(run, owner);
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      if (await api.allowed(owner, 'can_stop', `run:${run}`, registered.body.consistency_token)) allowed++;
    }
    assert.equal(allowed, 200);
  });

  it('records every decision durably, with its id, model, projector position and client', async () => {
    const res = await api.check(admin, 'has_access', service);
    await waitFor('the decision event', () => decisions.has(res.body.decision_id), 30_000);
    // The cache is bypassed while ownership events are still being applied (the test before wrote
    // 200), so repeat until a check is served from it; each repeat is a recorded decision too.
    let again = res;
    await waitFor(
      'a repeated check served from the decision cache',
      async () => {
        again = await api.check(admin, 'has_access', service);
        await waitFor('its decision event', () => decisions.has(again.body.decision_id), 30_000);
        return decisions.get(again.body.decision_id)!.data.cached === true;
      },
      60_000,
      250,
    );
    const [first, second] = [res, again].map((r) => decisions.get(r.body.decision_id)!.data);
    assert.equal(first!.allowed, true);
    assert.equal(first!.flwr_aid, admin);
    assert.equal(first!.endpoint, 'check');
    assert.match(first!.authorization_model_id ?? '', /^[0-9A-Z]{26}$/);
    assert.match(first!.projector_position ?? '', /^\d+:\d+$/);
    assert.equal(first!.origin?.client_id, stack.service_name, 'the SuperLink key, by its name');
    assert.equal(first!.client_id, stack.service_name);
    assert.equal(second!.cached, true, 'the repeat came from the decision cache');
  });

  it("answers OpenFGA's Check API on Fedgate's store, with the key as a Bearer token, audited", async () => {
    const storeId = stack.openfga.store_id;
    const body = { tuple_key: { user: `flwr_aid:${admin}`, relation: 'has_access', object: service } };
    const bearer = await authzCall(stack, 'POST', `/stores/${storeId}/check`, body, { 'x-fedgate-key': '', authorization: `Bearer ${stack.api_key}` });
    assert.equal(bearer.status, 401, 'an empty x-fedgate-key is not replaced');
    const res = await fetch(`${stack.services.authz}/stores/${storeId}/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { allowed: true, resolution: '' });
    const decisionId = res.headers.get('x-fedgate-decision-id')!;
    await waitFor('the openfga_check decision event', () => decisions.get(decisionId)?.data.endpoint === 'openfga_check', 30_000);
    const bob = await authzCall(stack, 'POST', `/stores/${storeId}/check`, { tuple_key: { user: 'flwr_aid:bob', relation: 'has_access', object: service } });
    assert.deepEqual(bob.body, { allowed: false, resolution: '' });
    const wrongStore = await authzCall(stack, 'POST', '/stores/01ARZ3NDEKTSV4RRFFQ69G5FAV/check', body);
    assert.deepEqual([wrongStore.status, wrongStore.body.error], [404, 'not_found']);
    const noKey = await fetch(`${stack.services.authz}/stores/${storeId}/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(noKey.status, 401);
  });

  it('answers bad input with 400 and a code, never a decision', async () => {
    const bad: Array<[string, string, unknown, number, string]> = [
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'can_fly', object: 'run:1' }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'has_access', object: 'run:1' }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'can_view', object: 'job:1' }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'can_view', object: 'run:1#owner' }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'al ice', relation: 'has_access', object: service }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice:x', relation: 'has_access', object: service }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'has_access', object: 'service:*' }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'can_view', object: 'run:-1' }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'has_access', object: service, consistency_token: 'ct1.nonsense' }, 400, 'invalid_request'],
      ['POST', '/v1/check', { flwr_aid: 'alice', relation: 'has_access', object: service, consistency_token: 'ct1.00000000-0000-4000-8000-000000000000' }, 400, 'invalid_request'],
      ['POST', '/v1/check', '{"flwr_aid":', 400, 'invalid_request'],
      ['POST', '/v1/check/batch', { checks: [] }, 400, 'invalid_request'],
      ['POST', '/v1/check/batch', { checks: Array.from({ length: 101 }, () => ({ flwr_aid: 'alice', relation: 'has_access', object: service })) }, 400, 'invalid_request'],
      ['POST', '/v1/runs', { run_id: 'abc', access_token: 'x' }, 400, 'invalid_request'],
      ['POST', '/v1/runs', { run_id: '18446744073709551616', access_token: 'x' }, 400, 'invalid_request'],
      ['POST', '/v1/runs', { run_id: freshRunId(), flwr_aid: 'alice' }, 400, 'invalid_request'],
      ['POST', '/v1/runs', { run_id: freshRunId(), access_token: 'not-a-token' }, 401, 'invalid_token'],
      // the SuperLink's key alone never acts as a person
      ['GET', '/v1/runs', undefined, 403, 'forbidden'],
      ['PUT', `/v1/runs/${freshRunId()}/members/bob`, { role: 'viewer' }, 403, 'forbidden'],
      ['PUT', `/v1/runs/${freshRunId()}/members/bob`, { role: 'viewer', acting_flwr_aid: 'alice' }, 400, 'invalid_request'],
      ['PUT', `/v1/services/${stack.service_name}/members/bob`, { role: 'root' }, 400, 'invalid_request'],
      ['PUT', `/v1/services/${stack.service_name}/members/bob`, { role: 'admin', acting_flwr_aid: 'alice' }, 400, 'invalid_request'],
      ['POST', `/stores/${stack.openfga.store_id}/check`, { tuple_key: { user: 'user:alice', relation: 'has_access', object: service } }, 400, 'invalid_request'],
      ['POST', `/stores/${stack.openfga.store_id}/check`, { tuple_key: { user: 'flwr_aid:alice', relation: 'has_access', object: service }, contextual_tuples: { tuple_keys: [{ user: 'flwr_aid:alice', relation: 'owner', object: 'run:1' }] } }, 400, 'invalid_request'],
    ];
    const wrong: string[] = [];
    for (const [method, path, body, status, code] of bad) {
      const res = await authzCall(stack, method, path, body);
      if (res.status !== status || res.body.error !== code) wrong.push(`${method} ${path} ${JSON.stringify(body).slice(0, 120)} → ${res.status} ${JSON.stringify(res.body)}`);
    }
    assert.deepEqual(wrong, []);
    const batch = await authzCall(stack, 'POST', '/v1/check/batch', {
      checks: [
        { flwr_aid: admin, relation: 'has_access', object: service },
        { flwr_aid: 'bob', relation: 'has_access', object: service },
      ],
    });
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.body.results.map((r: { allowed: boolean }) => r.allowed), [true, false]);
    const noKey = await authzCall(stack, 'POST', '/v1/check', { flwr_aid: 'alice', relation: 'has_access', object: service }, { 'x-fedgate-key': 'wrong' });
    assert.deepEqual([noKey.status, noKey.body.error], [401, 'invalid_client']);
  });
});

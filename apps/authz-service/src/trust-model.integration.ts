// The trust model on the real stack (API.md "Who is calling"): keys are scoped to their roles and
// services, people act only with their own tokens. Each attack is the request an attacker would
// send; each test asserts that it failed, that nothing changed, and that the refusal is in the
// audit log under the key's name or the verified person.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { sha256Hex, type AuditEvent } from '@fedgate/contracts';
import { readStackFile } from '@fedgate/stack';
import { accessTokenOf, deviceLogin, postJson, repoRoot, stackAdmin, waitFor } from '@fedgate/testing';
import { buildForgedTokenCorpus } from '@fedgate/token-verification';
import { authzApi, authzCall, freshRunId, projectorWorks } from './authz-client.testing';

const stack = readStackFile();
const api = authzApi(stack);
const serviceA = stack.service_name;
const other = stack.other_service!;
const serviceB = other.service_name;
const admin = stackAdmin(stack);
const superlinkKey = stack.api_key;
const operatorKey = stack.admin_api_key;
const pool = new Pool({ connectionString: stack.postgres.url, max: 2 });

/** Audit events matching a query (audit-service, read with the operator's key), waited for. */
async function audited(query: Record<string, string>, match: (e: AuditEvent) => boolean, what: string): Promise<AuditEvent> {
  const url = `${stack.services.audit}/v1/events?${new URLSearchParams({ limit: '200', ...query })}`;
  return waitFor(
    what,
    async () => {
      const res = await fetch(url, { headers: { 'x-fedgate-key': operatorKey } });
      if (!res.ok) throw new Error(`audit query answered ${res.status}`);
      return ((await res.json()) as { events: AuditEvent[] }).events.find(match) ?? false;
    },
    60_000,
    250,
  );
}

/** The refusal of `action` on `object` recorded under `actor` (`key:<name>` or an account id). */
const refusalOf = (actor: string, action: string, object?: string) =>
  audited(
    { actor, type: 'fedgate.request.refused.v1' },
    (e) => e.action === action && (object === undefined || e.object === object) && e.outcome === 'denied',
    `the refusal of ${action} ${object ?? ''} by ${actor}`,
  );

/** Outbox rows (every audit event, before Kafka) since `since` whose data names the token's hash. */
async function eventsOfToken(token: string, since: Date): Promise<Array<{ type: string }>> {
  const { rows } = await pool.query(
    `SELECT event->>'type' AS type FROM outbox_event WHERE created_at >= $1 AND event->'data'->>'access_token_hash' = $2`,
    [since, sha256Hex(token)],
  );
  return rows;
}

describe('trust model: keys for services, tokens for people', { timeout: 300_000 }, () => {
  before(async () => {
    await waitFor('authz-service ready', async () => (await fetch(`${stack.services.authz}/readyz`)).ok, 60_000, 250);
    await projectorWorks(stack);
    // alice (the bootstrap admin) the only admin, whatever other suites did: the operator's key
    // (authz-admin, the recovery path) restores that state
    const members = await api.serviceMembers(serviceA, { key: operatorKey });
    assert.equal(members.status, 200, JSON.stringify(members.body));
    let last: string | undefined;
    for (const { flwr_aid } of members.body.members.filter((m: { role: string; flwr_aid: string }) => m.role === 'admin' && m.flwr_aid !== admin)) {
      if (!members.body.members.some((m: { role: string; flwr_aid: string }) => m.role === 'admin' && m.flwr_aid === admin)) break;
      last = (await api.revoke(serviceA, flwr_aid, { key: operatorKey })).body.consistency_token;
    }
    if (!members.body.members.some((m: { role: string; flwr_aid: string }) => m.role === 'admin' && m.flwr_aid === admin)) {
      last = (await api.grant(serviceA, admin, 'admin', { key: operatorKey })).body.consistency_token;
      for (const { flwr_aid } of members.body.members.filter((m: { role: string; flwr_aid: string }) => m.role === 'admin')) {
        last = (await api.revoke(serviceA, flwr_aid, { key: operatorKey })).body.consistency_token;
      }
    }
    if (last) await api.check(admin, 'admin', `service:${serviceA}`, last);
  });
  after(() => pool.end());

  it("the SuperLink's key cannot grant, share or rebuild: 403, nothing changes, each refusal audited under its name", async () => {
    const run = freshRunId();
    const registered = await api.register(run, admin);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const grant = await authzCall(stack, 'PUT', `/v1/services/${serviceA}/members/mallory`, { role: 'admin' });
    const share = await authzCall(stack, 'PUT', `/v1/runs/${run}/members/mallory`, { role: 'operator' });
    const rebuild = await authzCall(stack, 'POST', '/v1/admin/rebuild');
    for (const [what, res] of Object.entries({ grant, share, rebuild })) assert.deepEqual([res.status, res.body.error], [403, 'forbidden'], what);
    assert.equal(await api.allowed('mallory', 'admin', `service:${serviceA}`, registered.body.consistency_token), false, 'mallory is no admin');
    assert.equal(await api.allowed('mallory', 'can_stop', `run:${run}`, registered.body.consistency_token), false, 'mallory has nothing on the run');
    const keyActor = `key:${serviceA}`;
    await refusalOf(keyActor, 'access.grant', `service:${serviceA}`);
    await refusalOf(keyActor, 'run.share', `run:${run}`);
    await refusalOf(keyActor, 'rebuild');
  });

  it('a key for service B gets 403 on service A for every call, and is audited', async () => {
    const run = freshRunId();
    const registered = await api.register(run, admin);
    const keyB = other.api_key;
    const token = await accessTokenOf(stack, admin);
    const calls: Array<[string, string, string, unknown, Record<string, string>]> = [
      ['check service', 'POST', '/v1/check', { flwr_aid: admin, relation: 'has_access', object: `service:${serviceA}` }, {}],
      ['batch', 'POST', '/v1/check/batch', { checks: [{ flwr_aid: admin, relation: 'has_access', object: `service:${serviceB}` }, { flwr_aid: admin, relation: 'has_access', object: `service:${serviceA}` }] }, {}],
      ['authorize', 'POST', '/v1/authorize', { access_token: token, relation: 'has_access', object: `service:${serviceA}` }, {}],
      ['register', 'POST', '/v1/runs', { run_id: freshRunId(), access_token: token, service: serviceA }, {}],
      ['openfga check', 'POST', `/stores/${stack.openfga.store_id}/check`, { tuple_key: { user: `flwr_aid:${admin}`, relation: 'has_access', object: `service:${serviceA}` } }, {}],
      // with alice's own token too: a key sent along must still act for the service
      ['share', 'PUT', `/v1/runs/${run}/members/mallory`, { role: 'viewer', service: serviceA }, { authorization: `Bearer ${token}` }],
      ['run members', 'GET', `/v1/runs/${run}/members?service=${serviceA}`, undefined, { authorization: `Bearer ${token}` }],
      ['grant', 'PUT', `/v1/services/${serviceA}/members/mallory`, { role: 'admin' }, { authorization: `Bearer ${token}` }],
      ['revoke', 'DELETE', `/v1/services/${serviceA}/members/${admin}`, undefined, { authorization: `Bearer ${token}` }],
      ['service members', 'GET', `/v1/services/${serviceA}/members`, undefined, { authorization: `Bearer ${token}` }],
    ];
    const wrong: string[] = [];
    for (const [what, method, pathname, body, headers] of calls) {
      const res = await authzCall(stack, method, pathname, body, headers, { key: keyB });
      if (res.status !== 403 || res.body.error !== 'forbidden') wrong.push(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    assert.deepEqual(wrong, []);
    // the operator's key (authz-admin for service A only) is refused on B likewise
    const operatorOnB = await authzCall(stack, 'PUT', `/v1/services/${serviceB}/members/mallory`, { role: 'admin' }, {}, { key: operatorKey });
    assert.deepEqual([operatorOnB.status, operatorOnB.body.error], [403, 'forbidden']);
    // nothing changed: the run has no share, mallory holds nothing, alice is still admin
    assert.deepEqual((await api.runMembers(run, admin, registered.body.consistency_token)).body.members, [{ flwr_aid: admin, role: 'owner' }]);
    assert.equal(await api.allowed('mallory', 'admin', `service:${serviceA}`), false);
    assert.equal(await api.allowed(admin, 'admin', `service:${serviceA}`), true);
    // B's key still works on B; its run list shows B's runs only
    const onB = await authzCall(stack, 'POST', '/v1/check', { flwr_aid: admin, relation: 'has_access', object: `service:${serviceB}` }, {}, { key: keyB });
    assert.equal(onB.status, 200, JSON.stringify(onB.body));
    const listedByB = await authzCall(stack, 'GET', '/v1/runs', undefined, { authorization: `Bearer ${token}` }, { key: keyB });
    assert.equal(listedByB.status, 200);
    assert.ok(!listedByB.body.runs.some((r: { run_id: string }) => r.run_id === run), "A's run is not listed through B's key");
    for (const [action, object] of [
      ['check', `service:${serviceA}`],
      ['authorize', `service:${serviceA}`],
      ['run.register', undefined],
      ['run.share', `run:${serviceA}/${run}`],
      ['run.members', `run:${serviceA}/${run}`],
      ['access.grant', `service:${serviceA}`],
      ['access.revoke', `service:${serviceA}`],
      ['service.members', `service:${serviceA}`],
    ] as const) {
      await refusalOf(`key:${serviceB}`, action, object);
    }
    await refusalOf('key:operator', 'access.grant', `service:${serviceB}`);
  });

  it("login-service and token-service answer SuperLink keys only: the operator's key gets 403 at every keyed call, audited; nothing is issued", async () => {
    const token = await accessTokenOf(stack, admin);
    const { login, token: tokenService } = stack.services;
    const since = new Date();
    const refused = {
      // the fast path (plain JSON) and Express (any other body) of /v1/verify alike
      verify: await postJson(stack, `${tokenService}/v1/verify`, { access_token: token }, { apiKey: operatorKey }),
      verifyExpress: await postJson(stack, `${tokenService}/v1/verify`, token, { apiKey: operatorKey, contentType: 'text/plain' }),
      introspect: await postJson(stack, `${tokenService}/v1/introspect`, new URLSearchParams({ token }).toString(), { apiKey: operatorKey, contentType: 'application/x-www-form-urlencoded' }),
      deviceAuthorize: await postJson(stack, `${login}/v1/device/authorize`, {}, { apiKey: operatorKey }),
      deviceToken: await postJson(stack, `${login}/v1/device/token`, { device_code: 'x' }, { apiKey: operatorKey }),
      refresh: await postJson(stack, `${login}/v1/token/refresh`, { refresh_token: 'x' }, { apiKey: operatorKey }),
      logout: await postJson(stack, `${login}/v1/logout`, { access_token: token }, { apiKey: operatorKey }),
    };
    for (const [what, res] of Object.entries(refused)) assert.deepEqual([res.status, res.body?.error], [403, 'forbidden'], `${what}: ${JSON.stringify(res.body)}`);
    // nothing happened: no device login was started, no token verified, the session not revoked
    const { rows } = await pool.query(`SELECT event->>'type' AS type FROM outbox_event WHERE created_at >= $1 AND event->>'type' <> 'fedgate.request.refused.v1' AND (event->'data'->'origin'->>'client_id' = 'operator' OR event->'data'->>'access_token_hash' = $2)`, [since, sha256Hex(token)]);
    assert.deepEqual(rows, [], 'the refused calls changed nothing');
    assert.equal((await postJson(stack, `${tokenService}/v1/verify`, { access_token: token })).body.active, true, 'the session is still valid');
    for (const action of ['POST /v1/verify', 'POST /v1/introspect', 'POST /v1/device/authorize', 'POST /v1/device/token', 'POST /v1/token/refresh', 'POST /v1/logout']) {
      await refusalOf('key:operator', action);
    }
    // every SuperLink's key verifies (no service is named here: a token is a person, whichever SuperLink asks)
    for (const key of [superlinkKey, other.api_key]) assert.equal((await postJson(stack, `${tokenService}/v1/verify`, { access_token: token }, { apiKey: key })).status, 200);
  });

  it("bob's own token cannot grant, alice's (an admin's) can; mallory never becomes admin", async () => {
    const service = `service:${serviceA}`;
    const byBob = await api.grant(serviceA, 'mallory', 'admin', 'bob');
    assert.deepEqual([byBob.status, byBob.body.error], [403, 'forbidden']);
    await refusalOf('bob', 'access.grant', service);
    // the old attack: any key holder naming alice as the actor in the body
    const named = await authzCall(stack, 'PUT', `/v1/services/${serviceA}/members/mallory`, { role: 'admin', acting_flwr_aid: admin }, {}, { key: null, as: 'bob' });
    assert.deepEqual([named.status, named.body.error], [400, 'invalid_request']);
    // a forged token claiming to be alice
    const forged = await authzCall(stack, 'PUT', `/v1/services/${serviceA}/members/mallory`, { role: 'admin' }, { authorization: `Bearer ${forgedAs(admin)}` }, { key: null });
    assert.deepEqual([forged.status, forged.body.error], [401, 'invalid_token']);
    const members = await api.serviceMembers(serviceA, admin);
    assert.ok(!members.body.members.some((m: { flwr_aid: string }) => m.flwr_aid === 'mallory'), 'mallory is not a member');
    assert.equal(await api.allowed('mallory', 'admin', service), false);

    const byAlice = await api.grant(serviceA, 'mallory', 'member', admin);
    assert.equal(byAlice.status, 200, JSON.stringify(byAlice.body));
    assert.equal(await api.allowed('mallory', 'has_access', service, byAlice.body.consistency_token), true);
    assert.equal(await api.allowed('mallory', 'admin', service, byAlice.body.consistency_token), false, 'member, never admin');
    const grantEvent = await audited({ actor: admin, type: 'fedgate.access.granted.v1' }, (e) => (e.data as { flwr_aid?: string }).flwr_aid === 'mallory', "alice's grant");
    assert.deepEqual(grantEvent.actor, { flwr_aid: admin, account_name: grantEvent.actor!.account_name }, 'the verified person is the actor');
    const removed = await api.revoke(serviceA, 'mallory', admin);
    assert.equal(removed.status, 200);
  });

  it("run ids are unique per service: service A's run 7 and service B's run 7 are two runs; the federation is kept", async () => {
    const run = freshRunId();
    const inA = await api.register(run, admin, { federation: 'fed-a' });
    const inB = await api.register(run, 'bob', { key: other.api_key, federation: 'fed-b' });
    assert.deepEqual([inA.status, inB.status], [201, 201], JSON.stringify([inA.body, inB.body]));
    assert.deepEqual([inA.body.owner, inB.body.owner], [admin, 'bob']);
    const ask = (key: string, who: string, ct: string) => authzCall(stack, 'POST', '/v1/check', { flwr_aid: who, relation: 'can_stop', object: `run:${run}`, consistency_token: ct }, {}, { key });
    assert.equal((await ask(superlinkKey, admin, inA.body.consistency_token)).body.allowed, true, 'alice owns run N of A');
    assert.equal((await ask(superlinkKey, 'bob', inB.body.consistency_token)).body.allowed, false, 'bob has nothing on run N of A');
    assert.equal((await ask(other.api_key, 'bob', inB.body.consistency_token)).body.allowed, true, 'bob owns run N of B');
    assert.equal((await ask(other.api_key, admin, inA.body.consistency_token)).body.allowed, false, 'alice has nothing on run N of B');
    // each listed with its service and federation; a share names the service when the id is ambiguous
    const alices = await api.list(admin, inB.body.consistency_token);
    assert.deepEqual(alices.body.runs.filter((r: { run_id: string }) => r.run_id === run), [{ run_id: run, role: 'owner', service: serviceA, federation: 'fed-a' }]);
    const bobs = await api.list('bob', inB.body.consistency_token);
    assert.deepEqual(bobs.body.runs.filter((r: { run_id: string }) => r.run_id === run), [{ run_id: run, role: 'owner', service: serviceB, federation: 'fed-b' }]);
    const ambiguous = await api.runMembers(run, admin);
    assert.deepEqual([ambiguous.status, ambiguous.body.error], [400, 'invalid_request'], 'the run id exists in two services: name one');
    const members = await authzCall(stack, 'GET', `/v1/runs/${run}/members?service=${serviceA}`, undefined, {}, { key: null, as: admin });
    assert.deepEqual(members.body.members, [{ flwr_aid: admin, role: 'owner' }]);
    const registered = await audited({ type: 'fedgate.run.registered.v1', actor: admin }, (e) => e.object === `run:${serviceA}/${run}`, "A's run in the audit log");
    assert.equal((registered.data as { federation?: string }).federation, 'fed-a');
  });

  it('an authz-admin key may recover its service, audited under its name', async () => {
    const granted = await api.grant(serviceA, 'recovered-admin', 'member', { key: operatorKey });
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    await audited({ actor: 'key:operator', type: 'fedgate.access.granted.v1' }, (e) => (e.data as { flwr_aid?: string }).flwr_aid === 'recovered-admin', "the operator key's grant");
    const listed = await api.serviceMembers(serviceA, { key: operatorKey });
    assert.ok(listed.body.members.some((m: { flwr_aid: string; role: string }) => m.flwr_aid === 'recovered-admin' && m.role === 'member'));
    assert.equal((await api.revoke(serviceA, 'recovered-admin', { key: operatorKey })).status, 200);
  });

  it('POST /v1/authorize: a valid token and an allowed question → allowed, with exactly one audit event', async () => {
    const token = await accessTokenOf(stack, admin);
    const since = new Date();
    const res = await api.authorize(admin, 'has_access', `service:${serviceA}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.allowed, true);
    assert.equal(res.body.account.flwr_aid, admin);
    const event = await audited({ type: 'fedgate.authz.decision.v1', actor: admin }, (e) => e.decision_id === res.body.decision_id, 'the authorize decision');
    assert.equal((event.data as { endpoint: string }).endpoint, 'authorize');
    assert.equal((event.data as { access_token_hash: string }).access_token_hash, sha256Hex(token), 'the token, by its hash');
    assert.equal((event.data as { client_id: string }).client_id, serviceA);
    assert.equal(event.actor?.flwr_aid, admin);
    assert.deepEqual((await eventsOfToken(token, since)).map((e) => e.type), ['fedgate.authz.decision.v1'], 'one event, not a verification and a decision');
    // bob (not a member) is denied, also in one event
    const denied = await api.authorize('bob', 'admin', `service:${serviceA}`);
    assert.deepEqual([denied.status, denied.body.allowed, denied.body.account?.flwr_aid], [200, false, 'bob']);
  });

  it('POST /v1/authorize: an expired, revoked or forged token → 401, with one event naming only claimed_subject', async () => {
    const fresh = await deviceLogin(stack, 'carol');
    const corpus = await buildForgedTokenCorpus({
      validToken: fresh.access_token,
      issuer: stack.idp.issuer,
      audience: stack.idp.audience!,
      idpJwks: (await (await fetch(`${stack.idp.issuer}/jwks`)).json()) as { keys: [] },
      idpPrivateJwk: (JSON.parse(readFileSync(path.join(repoRoot(), '.fedgate/data/dev-idp/jwks.json'), 'utf8')) as { keys: Array<{ kid: string }> }).keys.find(
        (k) => k.kid === (JSON.parse(Buffer.from(fresh.access_token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid,
      ),
    });
    const expired = corpus.find((t) => t.name === 'expired')!.token;
    const forged = corpus.find((t) => t.name === 'self-signed-with-idp-kid')!.token;
    const logout = await postJson(stack, `${stack.services.login}/v1/logout`, { refresh_token: fresh.refresh_token });
    assert.equal(logout.status, 204);
    const revoked = fresh.access_token;
    for (const [token, code] of [
      [expired, 'expired_token'],
      [forged, 'invalid_token'],
      [revoked, 'revoked_token'],
    ] as const) {
      const ask = () => authzCall(stack, 'POST', '/v1/authorize', { access_token: token, relation: 'has_access', object: `service:${serviceA}` });
      // the revocation reaches authz-service's own consumer of session events: wait for it
      await waitFor(`401 ${code}`, async () => {
        const r = await ask();
        return r.status === 401 && r.body.error === code;
      }, 30_000, 250);
      const since = new Date();
      const res = await ask();
      assert.deepEqual([res.status, res.body.error], [401, code]);
      assert.equal(res.body.allowed, false);
      assert.deepEqual((await eventsOfToken(token, since)).map((e) => e.type), ['fedgate.token.rejected.v1'], 'one event per refused call');
      const recorded = await audited(
        { type: 'fedgate.token.rejected.v1' },
        (e) => (e.data as { access_token_hash: string }).access_token_hash === sha256Hex(token) && (e.data as { error: string }).error === code,
        `the rejection of the ${code} token`,
      );
      assert.equal(recorded.actor, null, 'no person is named as actor of a refused token');
      assert.equal((recorded.data as { claimed_subject?: string }).claimed_subject, 'carol', 'the unverified claim is kept as claimed_subject');
      assert.equal((recorded.data as { flwr_aid?: string }).flwr_aid, undefined);
    }
  });

  it('409 last_admin: the only admin can neither demote nor remove herself, by token or by key', async () => {
    const attempts = [
      await api.grant(serviceA, admin, 'member', admin),
      await api.revoke(serviceA, admin, admin),
      await api.revoke(serviceA, admin, { key: operatorKey }),
    ];
    for (const res of attempts) assert.deepEqual([res.status, res.body.error], [409, 'last_admin']);
    assert.equal(await api.allowed(admin, 'admin', `service:${serviceA}`), true, 'alice is still admin');
    // with a second admin, one may step down; two demoting each other at once leave one admin
    const carol = await api.grant(serviceA, 'carol', 'admin', admin);
    assert.equal(carol.status, 200);
    await api.check('carol', 'admin', `service:${serviceA}`, carol.body.consistency_token);
    const [aliceDemotesCarol, carolDemotesAlice] = await Promise.all([api.grant(serviceA, 'carol', 'member', admin), api.grant(serviceA, admin, 'member', 'carol')]);
    const statuses = [aliceDemotesCarol.status, carolDemotesAlice.status];
    const members = await api.serviceMembers(serviceA, { key: operatorKey });
    const admins = members.body.members.filter((m: { role: string }) => m.role === 'admin').map((m: { flwr_aid: string }) => m.flwr_aid);
    assert.ok(admins.length >= 1, `an admin remains (${JSON.stringify(statuses)})`);
    // put things back: alice the only admin, carol a plain member no more
    if (!admins.includes(admin)) assert.equal((await api.grant(serviceA, admin, 'admin', { key: operatorKey })).status, 200);
    const back = await api.revoke(serviceA, 'carol', { key: operatorKey });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(await api.allowed(admin, 'admin', `service:${serviceA}`, back.body.consistency_token), true);
  });

  it('lists members: a service to its admins and its authz-admin key, a run to its owner and the service admins', async () => {
    const members = await api.serviceMembers(serviceA, admin);
    assert.equal(members.status, 200);
    assert.ok(members.body.members.some((m: { flwr_aid: string; role: string }) => m.flwr_aid === admin && m.role === 'admin'));
    for (const who of ['bob', { key: superlinkKey }] as const) {
      const refused = await api.serviceMembers(serviceA, who);
      assert.deepEqual([refused.status, refused.body.error], [403, 'forbidden'], JSON.stringify(who));
    }
    const run = freshRunId();
    const registered = await api.register(run, 'bob');
    const shared = await api.share(run, 'carol', 'viewer', 'bob');
    assert.equal(shared.status, 200, JSON.stringify(shared.body));
    const expected = { members: [{ flwr_aid: 'bob', role: 'owner' }, { flwr_aid: 'carol', role: 'viewer' }] };
    assert.deepEqual((await api.runMembers(run, 'bob', shared.body.consistency_token)).body, expected, 'the owner');
    assert.deepEqual((await api.runMembers(run, admin, shared.body.consistency_token)).body, expected, 'a service admin');
    const byViewer = await api.runMembers(run, 'carol');
    assert.deepEqual([byViewer.status, byViewer.body.error], [403, 'forbidden'], 'a viewer may not list who else sees the run');
    await refusalOf('carol', 'run.members', `run:${serviceA}/${run}`);
    assert.ok(registered.body.consistency_token);
  });
});

/** A JWT that claims `sub` but is signed by nobody the IdP knows (alg none). */
function forgedAs(sub: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: stack.idp.issuer, aud: stack.idp.audience, sub, iat: now, exp: now + 600 })}.`;
}

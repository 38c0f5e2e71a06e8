// The flower end-to-end scenario (issues #7 and #15), once per supported Flower line that CI
// covers: the newest (FLWR_VERSION in infra/stack.env, 1.42: HTTP Control API, connections in
// FLWR_HOME/config.toml, tokens in FLWR_HOME/credentials.yaml, authorization through the
// FederationManager) and 1.22 (gRPC Control API, `enable-user-auth` federations in the app's
// pyproject.toml, tokens in APP/.flwr/.credentials/<federation>.json). Each run starts the real
// SuperLink of that release with Fedgate's plugins and drives the real `flwr` CLI of the same
// release: login, run, ls, stop, log as alice, bob and carol; sharing with alice's own token;
// a transparent refresh of an expired access token; and the audit log of all of it, by actor.
// The stack, the IdP users and the service grants are set up once for both runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { parse as parseYaml } from 'yaml';
import type { StackFile } from '@fedgate/contracts';
import { authTypeKeyOf, credentialStoreContent, flwrCredentialsFileContent } from '@fedgate/flwr-config';
import { readStackFile } from '@fedgate/stack';
import { waitFor } from '@fedgate/testing';
import { auditEventsOf, ensureFlwr, expectAudited, FlowerUsers, grantScenarioAccess, revokeScenarioAccess, rest as restAs, SCENARIO_RELEASES, startSuperlink, state, stopSuperlink } from './flower-cli';

/** The releases CI runs the scenario with: the newest supported and the oldest line kept. */
const VERSIONS = SCENARIO_RELEASES;
const started = Date.now();
const suiteSince = new Date(started - 1000).toISOString();

let stack: StackFile;
const rest = (method: string, url: string, body?: unknown, auth?: { key?: string; bearer?: string }) => restAs(stack, method, url, body, auth);

describe('flwr login / run / ls against a SuperLink authorized by Fedgate', () => {
  before(async () => {
    stack = readStackFile();
    // access, once for both releases
    await grantScenarioAccess(stack);
  });

  after(async () => {
    if (stack) await revokeScenarioAccess(stack);
    console.log(`# flower e2e (${VERSIONS.join(', ')}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  for (const version of VERSIONS) describe(`flwr ${version}`, () => scenario(version));

  it('keeps both runs under 10 minutes (5 each, as the single run was)', () => {
    assert.ok(Date.now() - started < 600_000, `took ${(Date.now() - started) / 1000} s`);
  });
});

function scenario(version: string): void {
  const since = new Date(Date.now() - 1000).toISOString();
  let users!: FlowerUsers;
  let line!: FlowerUsers['line'];
  let work = '';
  let runId = '';
  const apps = () => users.apps;
  const flwr = (user: string, args: string[], timeoutMs?: number) => users.flwr(user, args, timeoutMs);
  const tokens = (user: string) => users.tokens(user);
  const credentialsFile = (user: string) => users.credentialsFile(user);
  const listedRunIds = (user: string) => users.listedRunIds(user);
  const login = (user: string, via?: 'flwr' | 'fedgate') => users.login(user, via);

  before(() => {
    const venv = ensureFlwr(version);
    startSuperlink(version);
    work = mkdtempSync(path.join(os.tmpdir(), `fedgate-flower-e2e-${version}-`));
    users = new FlowerUsers(version, stack, venv, work);
    line = users.line;
    for (const user of ['alice', 'bob', 'carol']) users.createApp(user);
  });

  after(() => {
    stopSuperlink();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('1. alice logs in with flwr (credentials written by flwr, byte for byte what fedgate login writes), runs an app and lists it', async () => {
    await login('alice');
    const stored = tokens('alice');
    assert.equal(stored.authnType, 'oidc');
    assert.ok(stored.access && stored.refresh);
    const written = readFileSync(credentialsFile('alice'), 'utf8');
    const ours = line.configToml
      ? credentialStoreContent(parseYaml(written) as Record<string, string>)
      : flwrCredentialsFileContent({ accessToken: stored.access, refreshToken: stored.refresh }, authTypeKeyOf(version));
    assert.equal(ours, written, `fedgate login writes exactly what flwr ${version} login wrote`);
    if (!line.configToml) {
      assert.deepEqual(readFileSync(path.join(apps().alice!, '.flwr/.gitignore'), 'utf8').split('\n').filter(Boolean), ['.credentials']);
    }

    runId = await users.run('alice');
    assert.ok((await listedRunIds('alice')).includes(runId), 'alice sees her run');
  });

  it("2. bob (has_access) neither sees nor stops nor reads alice's run; carol is refused everything", async () => {
    assert.ok(runId, 'needs the run of step 1');
    await login('bob', 'fedgate'); // flwr uses the credentials `fedgate login` wrote
    assert.ok(!(await listedRunIds('bob')).includes(runId), "bob does not see alice's run");
    const stop = await flwr('bob', ['stop', runId, ...line.target]);
    assert.match(stop.out, line.runDenied('can_stop'), stop.out);
    const logs = await flwr('bob', ['log', runId, ...line.target, '--show']);
    assert.match(logs.out, line.runDenied('can_read_logs'), logs.out);
    assert.ok((await listedRunIds('alice')).includes(runId), 'still there for alice');

    await login('carol'); // the login itself works: carol is a real user, just without access
    const target = line.target;
    for (const args of [['ls', ...target], ['run', '.', ...line.runTarget], ['stop', runId, ...target], ['log', runId, ...target, '--show']]) {
      const denied = await flwr('carol', args, 120_000);
      assert.match(denied.out, line.notAMember, `carol: flwr ${args.join(' ')}:\n${denied.out}`);
    }
  });

  it("3. alice shares the run with bob as viewer via the fedgate CLI, with her own login: bob sees it, still cannot stop it; bob's login cannot share it", async () => {
    assert.ok(runId, 'needs the run of step 1');
    // the person's own credentials, where this flwr keeps them (the CLI finds the release by `flwr --version`)
    const fedgate = (user: string, args: string[]) => users.fedgate(user, ['authz', ...args, '--app', apps()[user]!]);
    // bob, with the credentials his own login wrote, may not share alice's run
    const bobShares = await fedgate('bob', ['share', runId, 'bob', '--role', 'operator']);
    assert.notEqual(bobShares.code, 0);
    assert.match(bobShares.out, /forbidden/);
    const share = await fedgate('alice', ['share', runId, 'bob', '--role', 'viewer']);
    assert.equal(share.code, 0, `fedgate authz share:\n${share.out}`);
    const members = await fedgate('alice', ['members', '--run', runId]);
    assert.equal(members.code, 0, members.out);
    assert.deepEqual(members.out.trim().split('\n'), ['owner\talice', 'viewer\tbob']);
    await waitFor('bob to see the shared run', async () => (await listedRunIds('bob')).includes(runId), 20_000, 500);
    const stop = await flwr('bob', ['stop', runId, ...line.target]);
    assert.match(stop.out, line.runDenied('can_stop'), stop.out);
  });

  it('4. an expired access token is refreshed transparently on the next command', async () => {
    const { access } = tokens('alice');
    // alice's own token, expired a minute ago and signed by the IdP's real key: a genuine expiry, not a forgery the verifier would reject as invalid
    const [headerPart, payloadPart] = access.split('.');
    const header = JSON.parse(Buffer.from(headerPart!, 'base64url').toString()) as { alg: string; kid: string; typ?: string };
    const claims = JSON.parse(Buffer.from(payloadPart!, 'base64url').toString()) as Record<string, unknown>;
    const jwks = JSON.parse(readFileSync(path.join(state, 'data/dev-idp/jwks.json'), 'utf8')) as { keys: JWK[] };
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, 'the signing key of alice token is in the dev IdP jwks');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 360, exp: now - 60 })
      .setProtectedHeader({ alg: header.alg, kid: header.kid, ...(header.typ ? { typ: header.typ } : {}) })
      .sign(await importJWK(jwk, header.alg));
    const verdict = await rest('POST', `${stack.services.token}/v1/verify`, { access_token: expired }, { key: stack.api_key });
    assert.equal(verdict.status, 401);
    assert.equal(verdict.body.error, 'expired_token', 'token-service sees an expired (not an invalid) token');
    users.storeAccessToken('alice', expired);

    assert.ok((await listedRunIds('alice')).includes(runId), 'the command succeeds without a new login');
    const renewed = tokens('alice').access;
    assert.notEqual(renewed, expired, 'flwr stored the refreshed access token');
    const fresh = await rest('POST', `${stack.services.token}/v1/verify`, { access_token: renewed }, { key: stack.api_key });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.account.flwr_aid, 'alice');
  });

  it('5. the audit log has the logins, verifications and every decision, by actor, and the run with its federation', async () => {
    // run ids are unique per service: the log names the run in its service
    const object = `run:${stack.service_name}/${runId}`;
    // the operator's grant of the suite's setup is older than this release's run
    const sinceFor = (actor: string) => (actor.startsWith('key:') ? suiteSince : since);
    const service = `service:${stack.service_name}`;
    const expectations: Record<string, Array<[string, string | null, string]>> = {
      alice: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', service, 'success'],
        ['run.register', object, 'success'],
        ['check.can_view', object, 'success'],
        ['run.share', object, 'success'],
        ['token.refresh', null, 'success'],
      ],
      'key:operator': [['access.grant', `service:${stack.service_name}`, 'success']],
      bob: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', service, 'success'],
        ['check.can_stop', object, 'denied'],
        ['check.can_read_logs', object, 'denied'],
        ['check.can_view', object, 'success'],
        ['run.share', object, 'denied'],
      ],
      carol: [
        ['login', null, 'success'],
        ['token.verify', null, 'success'],
        ['check.has_access', service, 'denied'],
      ],
    };
    for (const [actor, wanted] of Object.entries(expectations)) await expectAudited(stack, actor, sinceFor(actor), wanted);
    const alice = await auditEventsOf(stack, 'alice', since);
    if (line.configToml) {
      // Flower 1.42 names the run's federation; Fedgate stores it with the run and the audit log shows it
      const registered = alice.find((e) => e.action === 'run.register' && e.object === object);
      assert.equal(registered?.data?.federation, '@none/default', JSON.stringify(registered));
    }
    // nothing in the log carries a token
    const text = JSON.stringify(alice);
    const { access, refresh } = tokens('alice');
    for (const secret of [access, refresh]) assert.ok(!text.includes(secret), 'no token in the audit log');
  });
}

// Every supported Flower release that the full scenario (flower.integration.ts) does not run,
// end to end against the stack: the real SuperLink of that release started by Fedgate's launcher
// and the real `flwr` CLI of the same release (cached venvs, scripts/infra/flwr.sh). Per release:
// `flwr login` through the stack's device flow, its credentials file byte for byte what `fedgate
// login` writes for the same tokens, and the reverse (flwr works with the files `fedgate login`
// wrote); `flwr run` of a tiny app; `flwr ls`: alice sees her run, bob does not; carol is refused;
// the audit log holds the decisions. One stack and one test process for all releases; one
// SuperLink at a time on the stack's ports.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StackFile } from '@fedgate/contracts';
import { authTypeKeyOf, ensureFlwrGitignore, writeFlwrCredentialStore, writeFlwrCredentials } from '@fedgate/flwr-config';
import { readStackFile } from '@fedgate/stack';
import { auditEventsOf, CONNECTION, ensureFlwr, expectAudited, FlowerUsers, grantScenarioAccess, revokeScenarioAccess, SCENARIO_RELEASES, startSuperlink, stopSuperlink, SUPPORTED_RELEASES } from './flower-cli';

/** The supported releases the full scenario leaves out (FEDGATE_FLOWER_SMOKE_VERSIONS to choose). */
const VERSIONS = (process.env.FEDGATE_FLOWER_SMOKE_VERSIONS ?? SUPPORTED_RELEASES.filter((v) => !SCENARIO_RELEASES.includes(v)).join(',')).split(',').filter(Boolean);
const started = Date.now();
const timings: string[] = [];
let installingMs = 0;
let stack: StackFile;

describe('every other supported flwr release: login, run, ls, refusal and audit against the stack', () => {
  before(async () => {
    stack = readStackFile();
    await grantScenarioAccess(stack);
  });

  after(async () => {
    if (stack) await revokeScenarioAccess(stack);
    // its cost is reported, not asserted (a timed test fails on a busy machine): CI's budget is watched in bench/README.md
    console.log(`# flower releases smoke (${VERSIONS.length} releases): ${((Date.now() - started) / 1000).toFixed(1)} s, of which ${(installingMs / 1000).toFixed(1)} s installing venvs; ${timings.join('; ')}`);
  });

  it('covers every supported release that the full scenario does not', () => {
    assert.ok(SUPPORTED_RELEASES.length > 0, 'FLWR_LEGACY_RELEASES / FLWR_FEDERATION_RELEASES in infra/stack.env');
    if (!process.env.FEDGATE_FLOWER_SMOKE_VERSIONS && !process.env.FEDGATE_FLOWER_E2E_VERSIONS) {
      assert.deepEqual([...VERSIONS, ...SCENARIO_RELEASES].sort(), [...SUPPORTED_RELEASES].sort());
    }
  });

  for (const version of VERSIONS) describe(`flwr ${version}`, () => smoke(version));
});

function smoke(version: string): void {
  const since = new Date(Date.now() - 1000).toISOString();
  let users!: FlowerUsers;
  let work = '';
  let runId = '';
  let t0 = 0;
  let ensureMs = 0;

  before(() => {
    t0 = Date.now();
    const venv = ensureFlwr(version);
    ensureMs = Date.now() - t0;
    installingMs += ensureMs;
    startSuperlink(version);
    work = mkdtempSync(path.join(os.tmpdir(), `fedgate-flower-smoke-${version}-`));
    users = new FlowerUsers(version, stack, venv, work);
    for (const user of ['alice', 'bob', 'carol']) users.createApp(user);
  });

  after(() => {
    stopSuperlink();
    if (work) rmSync(work, { recursive: true, force: true });
    timings.push(`${version} ${((Date.now() - t0) / 1000).toFixed(1)} s (venv ${(ensureMs / 1000).toFixed(1)} s)`);
  });

  it('alice logs in with flwr login: the file it wrote is byte for byte what fedgate login writes; bob and carol log in with fedgate login', async () => {
    await Promise.all([users.login('alice', 'flwr'), users.login('bob', 'fedgate'), users.login('carol', 'fedgate')]);
    const stored = users.tokens('alice');
    assert.equal(stored.authnType, 'oidc');
    assert.ok(stored.access && stored.refresh);
    // fedgate login's own writer, for the same tokens, into a fresh place
    const tokens = { accessToken: stored.access, refreshToken: stored.refresh };
    const scratch = path.join(work, 'fedgate-writes');
    const ours = users.line.configToml
      ? writeFlwrCredentialStore(path.join(scratch, 'flwr-home'), users.address, tokens)
      : writeFlwrCredentials(scratch, CONNECTION, tokens, authTypeKeyOf(version));
    const theirs = users.credentialsFile('alice');
    assert.equal(readFileSync(ours, 'utf8'), readFileSync(theirs, 'utf8'), `fedgate login writes exactly what flwr ${version} login wrote`);
    // flwr 1.26+ writes its store 0600; 1.22-1.25 leave the file to the umask: fedgate login's is 0600 in both
    assert.equal(statSync(ours).mode & 0o777, 0o600);
    if (users.line.configToml) assert.equal(statSync(theirs).mode & 0o777, 0o600, 'flwr keeps its credential store private too');
    if (!users.line.configToml) {
      ensureFlwrGitignore(scratch);
      assert.equal(readFileSync(path.join(scratch, '.flwr/.gitignore'), 'utf8'), readFileSync(path.join(users.apps.alice!, '.flwr/.gitignore'), 'utf8'), 'the same .flwr/.gitignore');
    }
  });

  it("alice runs an app and sees it in flwr ls; bob (has_access, with fedgate login's file) lists without it; carol is refused", async () => {
    runId = await users.run('alice');
    const [alice, bob, carol] = await Promise.all([users.listedRunIds('alice'), users.listedRunIds('bob'), users.flwr('carol', ['ls', ...users.line.target])]);
    assert.ok(alice.includes(runId), 'alice sees her run');
    assert.ok(!bob.includes(runId), "bob does not see alice's run");
    assert.match(carol.out, users.line.notAMember, `carol: flwr ls:\n${carol.out}`);
  });

  it('the audit log has the logins and every decision, by actor', async () => {
    assert.ok(runId, 'needs the run');
    const service = `service:${stack.service_name}`;
    const object = `run:${stack.service_name}/${runId}`;
    await Promise.all([
      expectAudited(stack, 'alice', since, [
        ['login', null, 'success'],
        ['check.has_access', service, 'success'],
        ['run.register', object, 'success'],
        ['check.can_view', object, 'success'],
      ]),
      expectAudited(stack, 'bob', since, [
        ['login', null, 'success'],
        ['check.has_access', service, 'success'],
      ]),
      expectAudited(stack, 'carol', since, [
        ['login', null, 'success'],
        ['check.has_access', service, 'denied'],
      ]),
    ]);
    // bob was never allowed to see the run: no decision on it in his name grants him anything
    const bob = await auditEventsOf(stack, 'bob', since);
    assert.ok(!bob.some((e) => e.object === object && e.outcome === 'success'), JSON.stringify(bob.filter((e) => e.object === object)));
  });
}

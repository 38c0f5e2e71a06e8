// The ownership topic is the truth: after a few hundred mixed commands, `fedgate authz rebuild`
// (wipe tuples and read model, replay the topic) gives identical answers for every
// (account, relation, object) of the test, and identical run lists.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readStackFile } from '@fedgate/stack';
import { repoRoot, stackAdmin, uniqueSuffix, waitFor } from '@fedgate/testing';
import { authzApi, authzCall, freshRunId, projectorWorks, type Answer } from './authz-client.testing';

const stack = readStackFile();
const api = authzApi(stack);
const RUN_RELATIONS = ['owner', 'operator', 'viewer', 'can_view', 'can_stop', 'can_read_logs', 'can_pull_artifacts'];

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('rebuild from the ownership topic', { timeout: 600_000 }, () => {
  it('answers every check and list identically after `fedgate authz rebuild`, following a few hundred mixed commands', async () => {
    await projectorWorks(stack);
    const seed = Date.now() % 100_000;
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const suffix = uniqueSuffix();
    const accounts = Array.from({ length: 6 }, (_, i) => `rb${i}-${suffix}`);
    // owners act with their own tokens, so they are the dev IdP's users; grants go through the
    // operator's authz-admin key (never touching alice, the service's only admin)
    const owners = ['alice', 'bob', 'carol'];
    const operator = { key: stack.admin_api_key };
    const runs: Array<{ id: string; owner: string }> = [];
    const tokens: string[] = [];
    const expectOk = (what: string, res: Answer) => {
      assert.ok(res.status === 200 || res.status === 201, `${what} (seed ${seed}): ${res.status} ${JSON.stringify(res.body)}`);
      tokens.push(res.body.consistency_token);
    };
    for (let i = 0; i < 300; i++) {
      const roll = random();
      if (runs.length < 4 || roll < 0.2) {
        const run = { id: freshRunId(), owner: pick(owners) };
        expectOk('register', await api.register(run.id, run.owner));
        runs.push(run);
      } else if (roll < 0.55) {
        const run = pick(runs);
        const member = pick(accounts.filter((a) => a !== run.owner));
        expectOk('share', await api.share(run.id, member, pick(['viewer', 'operator']), run.owner));
      } else if (roll < 0.75) {
        const run = pick(runs);
        expectOk('unshare', await api.unshare(run.id, pick(accounts), run.owner));
      } else if (roll < 0.9) {
        expectOk('grant', await api.grant(stack.service_name, pick(accounts), random() < 0.3 ? 'admin' : 'member', operator));
      } else {
        expectOk('revoke', await api.revoke(stack.service_name, pick(accounts), operator));
      }
    }
    const questions = [...accounts, ...owners].flatMap((flwr_aid) => [
      ...runs.flatMap((run) => RUN_RELATIONS.map((relation) => ({ flwr_aid, relation, object: `run:${run.id}` }))),
      { flwr_aid, relation: 'has_access', object: `service:${stack.service_name}` },
      { flwr_aid, relation: 'admin', object: `service:${stack.service_name}` },
    ]);
    const answers = async (consistencyToken?: string) => {
      const allowed: boolean[] = [];
      for (let i = 0; i < questions.length; i += 100) {
        const res = await authzCall(stack, 'POST', '/v1/check/batch', { checks: questions.slice(i, i + 100), consistency_token: consistencyToken }, {}, { key: stack.admin_api_key });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        allowed.push(...res.body.results.map((r: { allowed: boolean }) => r.allowed));
      }
      const lists: Record<string, unknown> = {};
      for (const account of owners) {
        const listed = await api.list(account, consistencyToken);
        assert.equal(listed.status, 200);
        const mine = new Set(runs.map((r) => r.id));
        lists[account] = listed.body.runs.filter((r: { run_id: string }) => mine.has(r.run_id));
      }
      return { allowed, lists };
    };
    // in-order projection: once the last write is applied, all earlier ones are (under load the
    // projector may need longer than one check's consistency wait: wait for it first)
    await waitFor('the last write to be applied', async () => (await api.check(stackAdmin(stack), 'has_access', `service:${stack.service_name}`, tokens.at(-1))).status === 200, 120_000, 500);
    const before = await answers(tokens.at(-1));
    assert.ok(before.allowed.some(Boolean) && before.allowed.some((a) => !a), 'a mix of allows and denies');

    const cli = spawnSync('node', [path.join(repoRoot(), 'apps/cli/bin/fedgate.js'), 'authz', 'rebuild'], { encoding: 'utf8', env: process.env, timeout: 400_000 });
    assert.equal(cli.status, 0, `fedgate authz rebuild: ${cli.stderr}`);
    assert.match(cli.stdout, /^Rebuilt: generation \d+, \d+ events replayed, \d+ tuples deleted/);
    const replayed = Number(/(\d+) events replayed/.exec(cli.stdout)![1]);
    assert.ok(replayed >= tokens.length, `replayed ${replayed} events, at least this test's ${tokens.length}`);

    const after = await answers(tokens.at(-1));
    const differing = questions.filter((_, i) => before.allowed[i] !== after.allowed[i]).map((q) => `${q.flwr_aid} ${q.relation} ${q.object}`);
    assert.deepEqual(differing, [], `identical decisions after the rebuild (seed ${seed}, ${questions.length} questions)`);
    assert.deepEqual(after.lists, before.lists, 'identical run lists');
    // the answers without a token agree too (decision caches were emptied by the rebuild)
    assert.deepEqual((await answers()).allowed, before.allowed);
    // leave the service as found: the test's accounts hold no role on it any more
    for (const account of accounts) assert.equal((await api.revoke(stack.service_name, account, operator)).status, 200);
  });
});

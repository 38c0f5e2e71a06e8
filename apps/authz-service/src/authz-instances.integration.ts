// Two authz-service instances on the real stack: an ownership change made through one empties
// the decision cache of the other (its own consumer group), long before the cache TTL.
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readStackFile } from '@fedgate/stack';
import { repoRoot, uniqueSuffix, waitFor, serviceKafkaEnv } from '@fedgate/testing';
import { authzApi, freshRunId, projectorWorks } from './authz-client.testing';

const stack = readStackFile();
const first = authzApi(stack);
const secondPort = Number(new URL(stack.services.authz).port) + 10;
const second = authzApi({ ...stack, services: { ...stack.services, authz: `https://127.0.0.1:${secondPort}` } });
const CACHE_TTL_MS = 120_000;

describe('decision caches across instances', { timeout: 240_000 }, () => {
  let instance: ChildProcess;
  before(async () => {
    // configured like the stack's instance, with a cache TTL far beyond the test
    instance = spawn('node', [path.join(repoRoot(), 'dist/apps/authz-service/src/main.js')], {
      env: { ...process.env, ...serviceKafkaEnv('authz-service'), FEDGATE_PORT: String(secondPort), FEDGATE_AUTHZ_CACHE_TTL_MS: String(CACHE_TTL_MS) },
      stdio: 'ignore',
    });
    await waitFor('the second authz-service instance', async () => (await fetch(`https://127.0.0.1:${secondPort}/readyz`)).ok, 90_000, 250);
    // the second instance joined the projector's group: wait out the rebalance
    await projectorWorks(stack);
  });
  after(() => {
    instance.kill('SIGTERM');
  });

  it('an unshare through one instance ends a cached allow at the other within seconds, not at the TTL', async () => {
    const owner = 'bob'; // acting with his own token
    const viewer = `view-${uniqueSuffix()}`;
    const run = freshRunId();
    await first.register(run, owner);
    const shared = await first.share(run, viewer, 'viewer', owner);
    assert.equal(shared.status, 200);
    assert.equal(await second.allowed(viewer, 'can_view', `run:${run}`, shared.body.consistency_token), true);
    // now cached at the second instance (asked without a token)
    assert.equal(await second.allowed(viewer, 'can_view', `run:${run}`), true);
    assert.equal(await second.allowed(viewer, 'can_view', `run:${run}`), true);
    const unshared = await first.unshare(run, viewer, owner);
    assert.equal(unshared.status, 200);
    const at = Date.now();
    await waitFor('the second instance to deny without a token', async () => !(await second.allowed(viewer, 'can_view', `run:${run}`)), 30_000, 50);
    const took = Date.now() - at;
    assert.ok(took < 30_000 && took < CACHE_TTL_MS, `denied after ${took} ms`);
    // and it stays denied (no stale entry comes back)
    for (let i = 0; i < 5; i++) assert.equal(await second.allowed(viewer, 'can_view', `run:${run}`), false);
  });
});

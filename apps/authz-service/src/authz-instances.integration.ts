// Two authz-service instances on the real stack: an ownership change made through one empties
// the decision cache of the other (its own consumer group), long before the cache TTL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readStackFile } from '@fedgate/stack';
import { startServiceProcess, uniqueSuffix, waitFor, type ServiceProcess } from '@fedgate/testing';
import { authzApi, freshRunId, projectorWorks } from './authz-client.testing';

const stack = readStackFile();
const first = authzApi(stack);
const CACHE_TTL_MS = 120_000;

describe('decision caches across instances', { timeout: 240_000 }, () => {
  let instance: ServiceProcess | undefined;
  let second: ReturnType<typeof authzApi>;
  before(async () => {
    // configured like the stack's instance, with a cache TTL far beyond the test
    instance = await startServiceProcess('authz-service', { FEDGATE_AUTHZ_CACHE_TTL_MS: String(CACHE_TTL_MS) });
    second = authzApi({ ...stack, services: { ...stack.services, authz: instance.base } });
    // the second instance joined the projector's group: wait out the rebalance
    await projectorWorks(stack);
  });
  // waits for the exit: an instance still shutting down when the next file starts would follow
  // that file's rebuild or answer from a projector of its own
  after(() => instance?.stop());

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

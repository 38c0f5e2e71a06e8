// AuthorizationStore against the real OpenFGA of the stack, in a store of its own (deleted after).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpenFgaHttpClient } from '@fedgate/openfga';
import { readStackFile } from '@fedgate/stack';
import { uniqueSuffix } from '@fedgate/testing';
import { readModelDsl } from './authorization-model';
import { AuthorizationStore } from './authorization-store';

describe('AuthorizationStore on the real OpenFGA', { timeout: 60_000 }, () => {
  const stack = readStackFile();
  const fga = new OpenFgaHttpClient({ url: stack.openfga.url, apiKey: stack.openfga.api_key ?? process.env.FEDGATE_OPENFGA_API_KEY ?? '', timeoutMs: 10_000 });
  const storeName = `fedgate-store-test-${uniqueSuffix()}`;
  let storeId: string;

  before(async () => {
    storeId = await fga.findOrCreateStore(storeName);
  });
  after(async () => {
    await fga.deleteStore(storeId);
    fga.close();
  });

  it('writes the model once: a restart with the same file pins the stored model again', async () => {
    const first = await new AuthorizationStore(fga, { storeName, modelDsl: readModelDsl() }).pin();
    assert.equal(first.written, true);
    // OpenFGA gives the model back with its relations in another order than the file's
    const again = await new AuthorizationStore(fga, { storeName, modelDsl: readModelDsl() }).pin();
    assert.deepEqual(again, { storeId: first.storeId, modelId: first.modelId, written: false });
    const changed = await new AuthorizationStore(fga, { storeName, modelDsl: readModelDsl().replace('define can_stop: owner or operator', 'define can_stop: owner') }).pin();
    assert.equal(changed.written, true);
    assert.notEqual(changed.modelId, first.modelId);
  });

  it('answers concurrent checks right when they share BatchCheck requests', async () => {
    const store = new AuthorizationStore(fga, { storeName, modelDsl: readModelDsl(), checkBatching: { maxInFlight: 1, maxBatch: 7, maxWaiting: 100 } }); // room for all 80: this is about batching, not shedding
    const { modelId } = await store.pin();
    const owners = Array.from({ length: 40 }, (_, i) => `owner-${i}`);
    await fga.write(storeId, modelId, { writes: owners.map((owner, i) => ({ user: `flwr_aid:${owner}`, relation: 'owner', object: `run:${i}` })) });
    // 80 checks at once through one request at a time: they leave in batches of ≤ 7
    const asked = owners.flatMap((owner, i) => [
      { tuple: { user: `flwr_aid:${owner}`, relation: 'can_stop', object: `run:${i}` }, expected: true },
      { tuple: { user: `flwr_aid:${owner}`, relation: 'can_stop', object: `run:${(i + 1) % owners.length}` }, expected: false },
    ]);
    const answers = await Promise.all(asked.map((q) => store.check(q.tuple)));
    assert.deepEqual(answers, asked.map((q) => q.expected));
  });
});

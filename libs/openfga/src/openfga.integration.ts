// OpenFgaHttpClient (the client authz-service runs) against the real OpenFGA server of the
// local stack (PostgreSQL datastore, preshared-key auth).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readStackFile } from '@fedgate/stack';
import { uniqueSuffix } from '@fedgate/testing';
import { OpenFgaHttpClient, OpenFgaRequestError } from './openfga-http.client';

// Flower's documented SuperLink model: `flwr_aid` users with `has_access` on a `service`.
const flowerModel = {
  schema_version: '1.1',
  type_definitions: [
    { type: 'flwr_aid' },
    {
      type: 'service',
      relations: { has_access: { this: {} } },
      metadata: { relations: { has_access: { directly_related_user_types: [{ type: 'flwr_aid' }] } } },
    },
  ],
};

const alice = { user: 'flwr_aid:alice', relation: 'has_access', object: 'service:superlink' };
const bob = { user: 'flwr_aid:bob', relation: 'has_access', object: 'service:superlink' };

describe('OpenFgaHttpClient: tuples in the real server', () => {
  const stack = readStackFile();
  const url = stack.openfga.url;
  const apiKey = stack.openfga.api_key ?? process.env.FEDGATE_OPENFGA_API_KEY ?? '';
  const storeName = `fedgate-test-${uniqueSuffix()}`;
  let client: OpenFgaHttpClient;
  let storeId: string;
  let modelId: string;

  before(async () => {
    client = new OpenFgaHttpClient({ url, apiKey });
    storeId = await client.findOrCreateStore(storeName);
    modelId = await client.writeModel(storeId, flowerModel);
  });
  after(async () => {
    await client.deleteStore(storeId);
    client.close();
  });

  it('finds an existing store by name instead of creating a second one, and its newest model', async () => {
    assert.equal(await client.findOrCreateStore(storeName), storeId);
    assert.equal((await client.latestModel(storeId))?.id, modelId);
  });

  it('writes a tuple, reads it back, and checks decide by it', async () => {
    await client.write(storeId, modelId, { writes: [alice] });
    await client.write(storeId, modelId, { writes: [alice] }); // idempotent

    const read: unknown[] = [];
    for await (const page of client.readAll(storeId)) read.push(...page);
    assert.deepEqual(read, [alice]);

    assert.equal(await client.check(storeId, modelId, alice), true);
    assert.equal(await client.check(storeId, modelId, bob), false);
    assert.deepEqual(await client.batchCheck(storeId, modelId, [alice, bob]), [true, false]);
    assert.deepEqual(await client.listObjects(storeId, modelId, { user: alice.user, relation: alice.relation, type: 'service' }), [alice.object]);

    await client.write(storeId, modelId, { deletes: [alice] });
    await client.write(storeId, modelId, { deletes: [alice] }); // idempotent
    assert.equal(await client.check(storeId, modelId, alice), false);
  });

  it('refuses a caller without the preshared key', async () => {
    const stranger = new OpenFgaHttpClient({ url, apiKey: 'not-the-key' });
    try {
      await assert.rejects(stranger.check(storeId, modelId, alice), (err: unknown) => err instanceof OpenFgaRequestError && err.status === 401);
    } finally {
      stranger.close();
    }
  });
});

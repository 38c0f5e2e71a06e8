// The real OpenFGA server of the local stack (PostgreSQL datastore, preshared-key auth).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FgaApiAuthenticationError, OpenFgaClient } from '@openfga/sdk';
import { readStackFile } from '@fedgate/stack';
import { uniqueSuffix } from '@fedgate/testing';
import { createOpenFgaClient, findOrCreateStore } from './openfga-client';

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

describe('OpenFGA: tuples in the real server', () => {
  const stack = readStackFile();
  const url = stack.openfga.url;
  const apiKey = stack.openfga.api_key ?? process.env.FEDGATE_OPENFGA_API_KEY ?? '';
  let client: OpenFgaClient;
  let storeId: string;

  before(async () => {
    const admin = createOpenFgaClient({ url, apiKey });
    storeId = await findOrCreateStore(admin, `fedgate-test-${uniqueSuffix()}`);
    client = createOpenFgaClient({ url, apiKey, storeId });
    const { authorization_model_id } = await client.writeAuthorizationModel(flowerModel as Parameters<OpenFgaClient['writeAuthorizationModel']>[0]);
    client = createOpenFgaClient({ url, apiKey, storeId, authorizationModelId: authorization_model_id });
  });
  after(async () => {
    await client.deleteStore();
  });

  it('finds an existing store by name instead of creating a second one', async () => {
    const admin = createOpenFgaClient({ url, apiKey });
    const name = (await client.getStore()).name;
    assert.equal(await findOrCreateStore(admin, name), storeId);
  });

  it('writes a tuple, reads it back, and checks decide by it', async () => {
    await client.write({ writes: [{ user: 'flwr_aid:alice', relation: 'has_access', object: 'service:superlink' }] });

    const read = await client.read({ object: 'service:superlink' });
    assert.deepEqual(read.tuples.map((t) => [t.key.user, t.key.relation, t.key.object]), [['flwr_aid:alice', 'has_access', 'service:superlink']]);

    assert.equal((await client.check({ user: 'flwr_aid:alice', relation: 'has_access', object: 'service:superlink' })).allowed, true);
    assert.equal((await client.check({ user: 'flwr_aid:bob', relation: 'has_access', object: 'service:superlink' })).allowed, false);

    await client.write({ deletes: [{ user: 'flwr_aid:alice', relation: 'has_access', object: 'service:superlink' }] });
    assert.equal((await client.check({ user: 'flwr_aid:alice', relation: 'has_access', object: 'service:superlink' })).allowed, false);
  });

  it('refuses a caller without the preshared key', async () => {
    const stranger = createOpenFgaClient({ url, apiKey: 'not-the-key', storeId });
    await assert.rejects(stranger.check({ user: 'flwr_aid:alice', relation: 'has_access', object: 'service:superlink' }), FgaApiAuthenticationError);
  });
});

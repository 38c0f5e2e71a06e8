// POST /v1/admin/rebuild wipes every tuple before replaying: only a key with the authz-admin
// role may start it; any other key is refused and the refusal recorded under the key's name.
// In process, with the real guards, FEDGATE_API_KEYS parsing and Refusals, a counting stand-in
// for the rebuild and an in-memory audit writer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { INestApplication, Module } from '@nestjs/common';
import request from 'supertest';
import type { FedgateEvent } from '@fedgate/contracts';
import { RebuildProjections, Refusals } from '@fedgate/authz';
import { PlatformModule, apiKeyHash, createServiceApp } from '@fedgate/platform';
import { ApiKeysSchema } from '@fedgate/service-config';
import { AdminController } from './admin.controller';

const ADMIN_KEY = 'admin-key-for-the-spec';
const SUPERLINK_KEY = 'superlink-key-for-the-spec';
let rebuilds = 0;
const recorded: FedgateEvent[] = [];

@Module({
  imports: [
    PlatformModule.forRoot({
      serviceName: 'authz-service',
      logLevel: 'silent',
      apiKeys: ApiKeysSchema.parse(
        `operator:${apiKeyHash(ADMIN_KEY)}:audit-reader+authz-admin:superlink,superlink-a:${apiKeyHash(SUPERLINK_KEY)}:superlink:superlink,reader:${apiKeyHash('reader-key')}:audit-reader`,
      ),
    }),
  ],
  controllers: [AdminController],
  providers: [
    { provide: RebuildProjections, useValue: { execute: async () => ({ generation: ++rebuilds, replayed_events: 0, tuples_deleted: 0, duration_ms: 1 }) } },
    { provide: Refusals, useValue: new Refusals({ append: async (event: FedgateEvent) => void recorded.push(event) }) },
  ],
})
class AdminTestModule {}

describe('POST /v1/admin/rebuild', () => {
  let app: INestApplication;
  before(async () => {
    app = await createServiceApp(AdminTestModule);
    await app.init();
  });
  after(() => app.close());

  it('is 401 without a key, and 403 forbidden for keys without the authz-admin role; nothing is rebuilt, each refusal recorded', async () => {
    await request(app.getHttpServer()).post('/v1/admin/rebuild').expect(401);
    for (const [key, name] of [
      [SUPERLINK_KEY, 'superlink-a'],
      ['reader-key', 'reader'],
    ] as const) {
      const res = await request(app.getHttpServer()).post('/v1/admin/rebuild').set('x-fedgate-key', key).expect(403);
      assert.equal(res.body.error, 'forbidden');
      const refusal = recorded.at(-1);
      assert.equal(refusal?.type, 'fedgate.request.refused.v1');
      assert.deepEqual(refusal?.type === 'fedgate.request.refused.v1' && [refusal.data.actor, refusal.data.action], [{ kind: 'key', name }, 'rebuild']);
    }
    assert.equal(recorded.length, 2);
    assert.equal(rebuilds, 0);
  });

  it('rebuilds for a key with the authz-admin role', async () => {
    const res = await request(app.getHttpServer()).post('/v1/admin/rebuild').set('x-fedgate-key', ADMIN_KEY).expect(200);
    assert.equal(res.body.generation, 1);
    assert.equal(rebuilds, 1);
  });
});

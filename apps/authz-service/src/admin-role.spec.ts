// POST /v1/admin/rebuild wipes every tuple before replaying: only a key with the authz-admin
// role may start it. In process, with the real guards and a counting stand-in for the rebuild.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { INestApplication, Module } from '@nestjs/common';
import request from 'supertest';
import { RebuildProjections } from '@fedgate/authz';
import { PlatformModule, apiKeyHash, createServiceApp } from '@fedgate/platform';
import { AUTHZ_ADMIN_ROLE, AdminController } from './openfga-check.controller';

const ADMIN_KEY = 'admin-key-for-the-spec';
const SUPERLINK_KEY = 'superlink-key-for-the-spec';
let rebuilds = 0;

@Module({
  imports: [
    PlatformModule.forRoot({
      serviceName: 'authz-service',
      logLevel: 'silent',
      apiKeys: `admin:${apiKeyHash(ADMIN_KEY)}:audit-reader+${AUTHZ_ADMIN_ROLE},superlink:${apiKeyHash(SUPERLINK_KEY)},reader:${apiKeyHash('reader-key')}:audit-reader`,
    }),
  ],
  controllers: [AdminController],
  providers: [{ provide: RebuildProjections, useValue: { execute: async () => ({ generation: ++rebuilds, replayed_events: 0, tuples_deleted: 0, duration_ms: 1 }) } }],
})
class AdminTestModule {}

describe('POST /v1/admin/rebuild', () => {
  let app: INestApplication;
  before(async () => {
    app = await createServiceApp(AdminTestModule);
    await app.init();
  });
  after(() => app.close());

  it('is 401 without a key, and 403 forbidden for keys without the authz-admin role; nothing is rebuilt', async () => {
    await request(app.getHttpServer()).post('/v1/admin/rebuild').expect(401);
    for (const key of [SUPERLINK_KEY, 'reader-key']) {
      const res = await request(app.getHttpServer()).post('/v1/admin/rebuild').set('x-fedgate-key', key).expect(403);
      assert.equal(res.body.error, 'forbidden');
    }
    assert.equal(rebuilds, 0);
  });

  it('rebuilds for a key with the authz-admin role', async () => {
    const res = await request(app.getHttpServer()).post('/v1/admin/rebuild').set('x-fedgate-key', ADMIN_KEY).expect(200);
    assert.equal(res.body.generation, 1);
    assert.equal(rebuilds, 1);
  });
});

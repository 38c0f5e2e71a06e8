import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyHash } from '@fedgate/platform';
import { ApiKeysSchema } from './index';

const hash = apiKeyHash('k1');
const other = apiKeyHash('k2');

describe('FEDGATE_API_KEYS', () => {
  it('reads each key as a principal: name, roles and services, by its hash only', () => {
    const [superlink, operator, reader] = ApiKeysSchema.parse(`superlink-a:${hash}:superlink:superlink-a, operator:${other}:authz-admin+audit-reader:*,reader:${apiKeyHash('k3')}:audit-reader`);
    assert.deepEqual({ ...superlink, keySha256: superlink!.keySha256.toString('hex') }, { client_id: 'superlink-a', keySha256: hash, roles: ['superlink'], services: ['superlink-a'] });
    assert.deepEqual([operator!.roles, operator!.services], [['authz-admin', 'audit-reader'], '*']);
    assert.deepEqual([reader!.roles, reader!.services], [['audit-reader'], []]);
  });

  it('accepts one name twice with the same roles and services: the old and new key of a rotation', () => {
    const keys = ApiKeysSchema.parse(`superlink-a:${hash}:superlink:superlink-a,superlink-a:${other}:superlink:superlink-a`);
    assert.deepEqual(keys.map((k) => k.client_id), ['superlink-a', 'superlink-a']);
  });

  it('refuses what would be a mistake: a raw key, an unknown role, a bad service, a duplicate', () => {
    for (const [value, message] of [
      ['superlink:not-a-hash:superlink:superlink', /SHA-256/],
      [`superlink:${hash}:admin:superlink`, /unknown role 'admin'/],
      [`superlink:${hash}:superlink:super link`, /not a service name/],
      [`a:${hash}:superlink:x,a:${other}:superlink:y`, /configured twice with different roles or services/],
      [`a:${hash}:superlink:x,b:${hash}:superlink:y`, /same key/],
      [`a b:${hash}`, /name:sha256hex/],
      [`a:${hash}:superlink:x:extra`, /name:sha256hex/],
      ['', /at least one key/],
    ] as const) {
      const parsed = ApiKeysSchema.safeParse(value);
      assert.equal(parsed.success, false, value);
      assert.match(parsed.error!.issues[0]!.message, message);
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_KEY_HEADER, API_PATHS, buildPath, routePattern } from './http';

describe('REST paths', () => {
  it('keeps the documented paths', () => {
    assert.equal(API_KEY_HEADER, 'x-fedgate-key');
    assert.equal(API_PATHS.login.deviceAuthorize, '/v1/device/authorize');
    assert.equal(API_PATHS.authz.batchCheck, '/v1/check/batch');
    assert.equal(API_PATHS.authz.runMember, '/v1/runs/{run_id}/members/{flwr_aid}');
    assert.equal(API_PATHS.audit.export, '/v1/events/export');
  });

  it('converts templates to router patterns', () => {
    assert.equal(routePattern(API_PATHS.authz.serviceMember), '/v1/services/:service/members/:flwr_aid');
    assert.equal(routePattern(API_PATHS.authz.openfgaCheck), '/stores/:store_id/check');
  });

  it('builds concrete paths, encoding each value', () => {
    assert.equal(buildPath(API_PATHS.authz.runMember, { run_id: 42, flwr_aid: 'auth0|x y' }), '/v1/runs/42/members/auth0%7Cx%20y');
    assert.equal(buildPath(API_PATHS.authz.serviceMember, { service: '../admin', flwr_aid: 'a' }), '/v1/services/..%2Fadmin/members/a');
    assert.throws(() => buildPath(API_PATHS.audit.event, {}), /missing parameter 'id'/);
  });
});

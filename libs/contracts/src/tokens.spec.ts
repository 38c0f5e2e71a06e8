import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  DeviceAuthorizationResponseSchema,
  FlwrCredentialsFileSchema,
  TokenHashSchema,
  TokenSetResponseSchema,
  VerifyResultSchema,
  sha256Hex,
} from './tokens';

const account = { flwr_aid: 'alice', account_name: 'alice' };

describe('sha256Hex', () => {
  it('is the lower-case hex SHA-256 of the UTF-8 token', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex('é'), createHash('sha256').update(Buffer.from('é', 'utf8')).digest('hex'));
    assert.ok(TokenHashSchema.safeParse(sha256Hex('any token')).success);
  });
  it('TokenHash refuses anything that is not a digest', () => {
    assert.equal(TokenHashSchema.safeParse('eyJhbGciOi.raw.jwt').success, false);
    assert.equal(TokenHashSchema.safeParse(sha256Hex('x').toUpperCase()).success, false);
  });
});

describe('DeviceAuthorizationResponse', () => {
  const valid = {
    authn_type: 'oidc',
    device_code: 'dc',
    user_code: 'ABCD-EFGH',
    verification_uri: 'https://idp.example/device',
    verification_uri_complete: 'https://idp.example/device?user_code=ABCD-EFGH',
    expires_in: 600,
    interval: 5,
  };
  it('accepts Flower login details', () => {
    assert.deepEqual(DeviceAuthorizationResponseSchema.parse(valid), valid);
  });
  it('refuses other authn types, non-http URIs and bad intervals', () => {
    assert.equal(DeviceAuthorizationResponseSchema.safeParse({ ...valid, authn_type: 'noop' }).success, false);
    assert.equal(DeviceAuthorizationResponseSchema.safeParse({ ...valid, verification_uri: 'javascript:alert(1)' }).success, false);
    assert.equal(DeviceAuthorizationResponseSchema.safeParse({ ...valid, interval: 0 }).success, false);
    assert.equal(DeviceAuthorizationResponseSchema.safeParse({ ...valid, expires_in: 1.5 }).success, false);
  });
});

describe('TokenSetResponse', () => {
  const valid = { access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 300, account };
  it('accepts a token set with its account', () => {
    assert.deepEqual(TokenSetResponseSchema.parse(valid), valid);
  });
  it('requires Bearer and an account', () => {
    assert.equal(TokenSetResponseSchema.safeParse({ ...valid, token_type: 'bearer' }).success, false);
    assert.equal(TokenSetResponseSchema.safeParse({ ...valid, account: undefined }).success, false);
    assert.equal(TokenSetResponseSchema.safeParse({ ...valid, refresh_token: '' }).success, false);
  });
});

describe('VerifyResult', () => {
  it('accepts an active result', () => {
    const active = { active: true, account, scope: 'openid profile', expires_at: 1_900_000_000 };
    assert.deepEqual(VerifyResultSchema.parse(active), active);
  });
  it('accepts an inactive result with a rejection code', () => {
    const inactive = { active: false, error: 'revoked_token', error_description: 'logged out' };
    assert.deepEqual(VerifyResultSchema.parse(inactive), inactive);
  });
  it('refuses mixed or unknown shapes', () => {
    assert.equal(VerifyResultSchema.safeParse({ active: true, error: 'invalid_token', error_description: '' }).success, false);
    assert.equal(VerifyResultSchema.safeParse({ active: false, error: 'slow_down', error_description: '' }).success, false);
    assert.equal(VerifyResultSchema.safeParse({ active: 'yes', account, scope: '', expires_at: 1 }).success, false);
  });
});

describe('FlwrCredentialsFile', () => {
  it('accepts both Flower spellings of the auth type', () => {
    const tokens = { 'flwr-oidc-access-token': 'a', 'flwr-oidc-refresh-token': 'r' };
    assert.ok(FlwrCredentialsFileSchema.safeParse({ 'auth-type': 'oidc', ...tokens }).success);
    assert.ok(FlwrCredentialsFileSchema.safeParse({ 'authn-type': 'oidc', ...tokens }).success);
    assert.equal(FlwrCredentialsFileSchema.safeParse(tokens).success, false);
  });
});

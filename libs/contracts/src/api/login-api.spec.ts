import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../errors';
import { parseOrThrow } from '../validation';
import {
  DEVICE_CODE_GRANT_TYPE,
  DeviceAuthorizeRequestSchema,
  DeviceTokenRequestSchema,
  LogoutRequestSchema,
  OAuthDeviceAuthorizationResponseSchema,
  OAuthTokenFormSchema,
  OAuthTokenResponseSchema,
  RefreshRequestSchema,
} from './login-api';

describe('login-service DTOs', () => {
  it('device/authorize accepts {} and a scope, refuses malformed scopes', () => {
    assert.deepEqual(parseOrThrow(DeviceAuthorizeRequestSchema, {}), {});
    assert.deepEqual(parseOrThrow(DeviceAuthorizeRequestSchema, { scope: 'openid profile offline_access' }), { scope: 'openid profile offline_access' });
    for (const scope of ['', 'openid  profile', ' openid', 'a"b', 42]) {
      assert.throws(() => parseOrThrow(DeviceAuthorizeRequestSchema, { scope }), InvalidRequestError, JSON.stringify(scope));
    }
  });

  it('device/token requires a device_code', () => {
    assert.deepEqual(parseOrThrow(DeviceTokenRequestSchema, { device_code: 'abc' }), { device_code: 'abc' });
    assert.throws(() => parseOrThrow(DeviceTokenRequestSchema, {}), /device_code/);
    assert.throws(() => parseOrThrow(DeviceTokenRequestSchema, { device_code: '' }), /device_code/);
    assert.throws(() => parseOrThrow(DeviceTokenRequestSchema, { device_code: 'x'.repeat(20_000) }), /device_code/);
  });

  it('token/refresh requires a refresh_token', () => {
    assert.ok(RefreshRequestSchema.safeParse({ refresh_token: 'r' }).success);
    assert.throws(() => parseOrThrow(RefreshRequestSchema, { refresh_token: 7 }), /refresh_token/);
  });

  it('logout needs a refresh_token and/or an access_token', () => {
    assert.ok(LogoutRequestSchema.safeParse({ refresh_token: 'r' }).success);
    assert.ok(LogoutRequestSchema.safeParse({ access_token: 'a' }).success);
    assert.ok(LogoutRequestSchema.safeParse({ access_token: 'a', refresh_token: 'r' }).success);
    assert.throws(() => parseOrThrow(LogoutRequestSchema, {}), /refresh_token or access_token is required/);
  });

  it('oauth2/token distinguishes the device-code and refresh grants', () => {
    assert.deepEqual(OAuthTokenFormSchema.parse({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: 'd' }), { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: 'd' });
    assert.ok(OAuthTokenFormSchema.safeParse({ grant_type: 'refresh_token', refresh_token: 'r' }).success);
    assert.equal(OAuthTokenFormSchema.safeParse({ grant_type: 'refresh_token', device_code: 'd' }).success, false);
    assert.equal(OAuthTokenFormSchema.safeParse({ grant_type: 'password', username: 'u' }).success, false);
  });

  it('RFC-shaped answers', () => {
    assert.ok(
      OAuthDeviceAuthorizationResponseSchema.safeParse({ device_code: 'd', user_code: 'U', verification_uri: 'https://idp/device', expires_in: 600 }).success,
    );
    assert.ok(OAuthTokenResponseSchema.safeParse({ access_token: 'a', token_type: 'Bearer' }).success);
    assert.equal(OAuthTokenResponseSchema.safeParse({ token_type: 'Bearer' }).success, false);
  });
});

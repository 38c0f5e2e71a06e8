import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClientAuthenticationError,
  DependencyUnavailableError,
  ERROR_CATALOGUE,
  ERROR_CODES,
  FedgateError,
  InvalidRequestError,
  OAuthError,
  ResourceError,
  TokenVerificationError,
  fedgateErrorFromResponse,
  isErrorCode,
  statusOfErrorCode,
  type ErrorCode,
} from './errors';

describe('error catalogue', () => {
  it('maps each code to its HTTP status', () => {
    const expected: Record<string, number> = {
      invalid_client: 401,
      invalid_request: 400,
      invalid_token: 401,
      revoked_token: 401,
      insufficient_scope: 403,
      authorization_pending: 400,
      slow_down: 400,
      expired_token: 400,
      access_denied: 400,
      invalid_grant: 400,
      run_exists: 409,
      forbidden: 403,
      not_found: 404,
      authz_unavailable: 503,
      dependency_unavailable: 503,
      payload_too_large: 413,
      unsupported_media_type: 415,
      internal_error: 500,
    };
    for (const [code, status] of Object.entries(expected)) {
      assert.ok(isErrorCode(code), code);
      assert.equal(statusOfErrorCode(code as ErrorCode), status, code);
    }
  });

  it('uses snake_case codes and only 4xx/5xx statuses', () => {
    for (const code of ERROR_CODES) {
      assert.match(code, /^[a-z]+(_[a-z]+)*$/);
      const { status } = ERROR_CATALOGUE[code];
      assert.ok(status >= 400 && status < 600, `${code} → ${status}`);
    }
  });

  it('rejects unknown codes', () => {
    assert.equal(isErrorCode('nope'), false);
    assert.equal(isErrorCode('toString'), false);
    assert.equal(isErrorCode(42), false);
  });
});

describe('FedgateError', () => {
  it('carries code, status, description and the RFC 6749 body', () => {
    const error = new FedgateError('not_found', 'No run 42.');
    assert.equal(error.code, 'not_found');
    assert.equal(error.status, 404);
    assert.equal(error.description, 'No run 42.');
    assert.equal(error.name, 'FedgateError');
    assert.ok(error instanceof Error);
    assert.deepEqual(error.toBody(), { error: 'not_found', error_description: 'No run 42.' });
  });

  it('defaults the description to the catalogue summary', () => {
    assert.equal(new FedgateError('slow_down').description, ERROR_CATALOGUE.slow_down.summary);
  });

  it('serialises to the public body only (no stack trace)', () => {
    const json = JSON.parse(JSON.stringify(new FedgateError('internal_error', undefined, { cause: new Error('db password wrong') })));
    assert.deepEqual(json, { error: 'internal_error', error_description: ERROR_CATALOGUE.internal_error.summary });
  });

  it('gives expired_token 400 in the device flow and 401 in token verification', () => {
    assert.equal(new OAuthError('expired_token').status, 400);
    assert.equal(new TokenVerificationError('expired_token').status, 401);
    assert.equal(new TokenVerificationError('insufficient_scope').status, 403);
  });

  it('has one subclass per family with the right names and statuses', () => {
    assert.equal(new ClientAuthenticationError().status, 401);
    assert.equal(new ClientAuthenticationError().name, 'ClientAuthenticationError');
    assert.equal(new ResourceError('run_exists').status, 409);
    const unavailable = new DependencyUnavailableError('authz_unavailable', 'openfga');
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.dependency, 'openfga');
    const tooLarge = new InvalidRequestError('too big', [], 'payload_too_large');
    assert.equal(tooLarge.status, 413);
    assert.ok(tooLarge instanceof FedgateError);
  });

  it('rebuilds errors from HTTP answers', () => {
    const known = fedgateErrorFromResponse(401, { error: 'expired_token', error_description: 'expired' });
    assert.equal(known.code, 'expired_token');
    assert.equal(known.status, 401);
    const unknown = fedgateErrorFromResponse(418, { error: 'teapot', error_description: 'short and stout' });
    assert.equal(unknown.code, 'internal_error');
    assert.equal(unknown.status, 418);
    assert.match(unknown.description, /teapot/);
    assert.equal(fedgateErrorFromResponse(502, '<html>').code, 'internal_error');
  });
});

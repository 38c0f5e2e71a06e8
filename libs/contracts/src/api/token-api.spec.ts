import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOrThrow } from '../validation';
import { IntrospectionFormSchema, IntrospectionResponseSchema, UserInfoResponseSchema, VerifyRequestSchema } from './token-api';

describe('token-service DTOs', () => {
  it('verify requires an access_token', () => {
    assert.deepEqual(parseOrThrow(VerifyRequestSchema, { access_token: 'eyJ' }), { access_token: 'eyJ' });
    assert.throws(() => parseOrThrow(VerifyRequestSchema, {}), /access_token/);
    assert.throws(() => parseOrThrow(VerifyRequestSchema, { access_token: '' }), /access_token/);
  });

  it('userinfo keeps extra claims and needs a sub', () => {
    assert.deepEqual(UserInfoResponseSchema.parse({ sub: 'alice', preferred_username: 'alice', groups: ['x'] }), {
      sub: 'alice',
      preferred_username: 'alice',
      groups: ['x'],
    });
    assert.equal(UserInfoResponseSchema.safeParse({ preferred_username: 'alice' }).success, false);
  });

  it('introspection form and answer (RFC 7662)', () => {
    assert.ok(IntrospectionFormSchema.safeParse({ token: 't', token_type_hint: 'access_token' }).success);
    assert.equal(IntrospectionFormSchema.safeParse({ token_type_hint: 'access_token' }).success, false);
    assert.equal(IntrospectionFormSchema.safeParse({ token: 't', token_type_hint: 'id_token' }).success, false);
    assert.ok(IntrospectionResponseSchema.safeParse({ active: false }).success);
    assert.ok(IntrospectionResponseSchema.safeParse({ active: true, sub: 'alice', username: 'alice', exp: 1_900_000_000 }).success);
    assert.equal(IntrospectionResponseSchema.safeParse({ sub: 'alice' }).success, false);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccountSchema, FlwrAidSchema, accountFromClaims, accountNameFromClaims, isFlwrAid } from './accounts';
import { TokenVerificationError } from './errors';

describe('FlwrAid', () => {
  it('accepts typical OIDC subs', () => {
    for (const sub of ['alice', '248289761001', 'auth0|5f7c8ec7c33c6c004bbafe82', 'f1e2d3c4-0000-4000-8000-000000000000', 'a@b.example', 'x'.repeat(256)]) {
      assert.ok(isFlwrAid(sub), sub);
    }
  });

  it('refuses what OpenFGA cannot store as an id', () => {
    for (const bad of ['', 'a b', 'a\tb', 'a\nb', 'a#b', 'a:b', '*', 'x'.repeat(257), 'nbsp\u00a0here', 'bell\u0007']) {
      assert.equal(isFlwrAid(bad), false, JSON.stringify(bad));
    }
    assert.equal(isFlwrAid(42), false);
  });

  it('explains the failure', () => {
    const result = FlwrAidSchema.safeParse('run:1#owner');
    assert.equal(result.success, false);
    assert.match(result.error!.issues[0]!.message, /^must not contain ':'$/);
  });

  it('counts length in code points', () => {
    assert.ok(isFlwrAid('😀'.repeat(256)));
    assert.equal(isFlwrAid('😀'.repeat(257)), false);
  });
});

describe('Account', () => {
  it('parses {flwr_aid, account_name}', () => {
    assert.deepEqual(AccountSchema.parse({ flwr_aid: 'alice', account_name: 'Alice' }), { flwr_aid: 'alice', account_name: 'Alice' });
    assert.equal(AccountSchema.safeParse({ flwr_aid: 'alice' }).success, false);
    assert.equal(AccountSchema.safeParse({ flwr_aid: 'alice', account_name: '' }).success, false);
  });
});

describe('accountNameFromClaims', () => {
  const sub = 'sub-1';
  it('prefers preferred_username', () => {
    assert.equal(accountNameFromClaims({ sub, preferred_username: 'alice', name: 'Alice A', email: 'a@x' }), 'alice');
  });
  it('falls back to name', () => {
    assert.equal(accountNameFromClaims({ sub, name: 'Alice A', email: 'a@x' }), 'Alice A');
  });
  it('falls back to email', () => {
    assert.equal(accountNameFromClaims({ sub, email: 'a@x' }), 'a@x');
  });
  it('falls back to the sub', () => {
    assert.equal(accountNameFromClaims({ sub }), sub);
  });
  it('skips blank, non-string and oversized claims', () => {
    assert.equal(accountNameFromClaims({ sub, preferred_username: '   ', name: 42, email: 'a@x' }), 'a@x');
    assert.equal(accountNameFromClaims({ sub, preferred_username: 'x'.repeat(300), name: null }), sub);
    assert.equal(accountNameFromClaims({ sub, preferred_username: '  bob  ' }), 'bob');
  });
});

describe('accountFromClaims', () => {
  it('builds the account', () => {
    assert.deepEqual(accountFromClaims({ sub: 'alice-sub', preferred_username: 'alice' }), { flwr_aid: 'alice-sub', account_name: 'alice' });
  });
  it('turns an unusable sub into invalid_token', () => {
    assert.throws(
      () => accountFromClaims({ sub: 'tenant:alice' }),
      (error: unknown) => error instanceof TokenVerificationError && error.code === 'invalid_token' && error.status === 401,
    );
  });
});

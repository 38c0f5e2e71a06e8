import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loginNamesOf } from './poll-device-login.use-case';

// The names a bootstrap admin given by username or email (FEDGATE_ADMIN_LOGIN) is found by.
describe('loginNamesOf', () => {
  it('names the username and the email the IdP verified', () => {
    assert.deepEqual(loginNamesOf({ sub: 'u-1', preferred_username: 'alice', email: 'alice@example.test', email_verified: true }), ['alice', 'alice@example.test']);
  });

  it('leaves out an email the IdP did not verify: anyone may type the admin’s address into a profile', () => {
    assert.deepEqual(loginNamesOf({ sub: 'u-2', preferred_username: 'mallory', email: 'ops@example.test', email_verified: false }), ['mallory']);
    assert.deepEqual(loginNamesOf({ sub: 'u-3', email: 'ops@example.test' }), []);
    assert.deepEqual(loginNamesOf({ sub: 'u-4', email: 'ops@example.test', email_verified: 'true' }), [], 'only a real boolean true counts');
  });

  it('ignores claims that are not strings', () => {
    assert.deepEqual(loginNamesOf({ sub: 'u-5', preferred_username: 42, email: ['x'], email_verified: true }), []);
  });
});

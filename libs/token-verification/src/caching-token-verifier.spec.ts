import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { DependencyUnavailableError, TokenVerificationError, sha256Hex } from '@fedgate/contracts';
import {
  CONFIDENTIAL_CLIENT_ID,
  CONFIDENTIAL_CLIENT_SECRET,
  TEST_AUDIENCE,
  countingFetch,
  createTestTls,
  signWithJwk,
  sleep,
  startIdpFixture,
  type IdpFixture,
  type TestTls,
} from './testing/dev-idp-fixture';
import {
  CachingTokenVerifier,
  TokenRejectedError,
  TokenVerifier,
  VerifiedTokenCache,
  toActiveVerifyResult,
  toInactiveVerifyResult,
  type TokenVerifierOptions,
  type VerifiedToken,
} from './index';

// A real dev IdP and real tokens; the inner TokenVerifier is wrapped only to COUNT how
// often the cache lets a verification (signature check, network) through.

let testTls: TestTls;
let fixture: IdpFixture;

interface Counted {
  readonly caching: CachingTokenVerifier;
  readonly inner: TokenVerifier;
  readonly calls: () => number;
}

function countedVerifier(options: Partial<TokenVerifierOptions> = {}, cache?: VerifiedTokenCache): Counted {
  const inner = new TokenVerifier({ issuer: fixture.issuer, audience: TEST_AUDIENCE, ...options });
  let calls = 0;
  const original = inner.verify.bind(inner);
  inner.verify = (token: string): Promise<VerifiedToken> => {
    calls += 1;
    return original(token);
  };
  return { caching: new CachingTokenVerifier({ verifier: inner, ...(cache ? { cache } : {}) }), inner, calls: () => calls };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  assert.fail('expected a rejection');
}

before(async () => {
  testTls = await createTestTls();
  fixture = await startIdpFixture(testTls);
});

after(async () => {
  await fixture?.close();
  await testTls?.dispose();
});

describe('CachingTokenVerifier', () => {
  it('serves the second verification of a token from the cache, without crypto or network', async (t) => {
    const token = (await fixture.signIn()).access_token;
    const requests = countingFetch();
    const { caching, calls } = countedVerifier({ fetch: requests.fetch });

    const first = await caching.verify(token);
    assert.equal(first.cached, false);
    assert.equal(first.token_hash, sha256Hex(token));
    assert.equal(calls(), 1);
    const requestsAfterFirst = requests.total();

    const second = await caching.verify(token);
    assert.equal(second.cached, true);
    assert.deepEqual({ ...second, cached: false }, first);
    assert.equal(calls(), 1, 'no second signature verification');
    assert.equal(requests.total(), requestsAfterFirst, 'no request to the IdP');
    assert.deepEqual(toActiveVerifyResult(second), { active: true, account: first.account, scope: first.scope, expires_at: first.expires_at });

    const count = 2_000;
    const started = performance.now();
    for (let i = 0; i < count; i += 1) await caching.verify(token);
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`cached verify: ${count} in ${(seconds * 1000).toFixed(1)} ms → ${Math.round(count / seconds)}/s`);
    assert.equal(calls(), 1, 'every later verification is a cache hit');
  });

  it('shares one verification between concurrent requests for the same token', async () => {
    const token = (await fixture.signIn()).access_token;
    const { caching, calls } = countedVerifier();
    const results = await Promise.all(Array.from({ length: 20 }, () => caching.verify(token)));
    assert.equal(calls(), 1);
    assert.ok(results.every((result) => result.account.flwr_aid === 'alice'));
  });

  it('revoke() evicts a cached token and makes it answer revoked_token until it expires', async () => {
    const token = (await fixture.signIn()).access_token;
    const other = (await fixture.signIn({ username: 'bob' })).access_token;
    const { caching, calls } = countedVerifier();
    await caching.verify(token);
    await caching.verify(other);
    assert.equal(calls(), 2);

    assert.equal(caching.revoke([sha256Hex(token)]), 1);
    const error = await rejection(caching.verify(token));
    assert.ok(error instanceof TokenRejectedError && error instanceof TokenVerificationError);
    assert.equal(error.code, 'revoked_token');
    assert.equal(error.status, 401);
    assert.equal(error.sub, 'alice');
    assert.equal(error.kid, decodeProtectedHeader(token).kid);
    assert.deepEqual(toInactiveVerifyResult(error), { active: false, error: 'revoked_token', error_description: error.description });
    assert.equal(calls(), 2, 'a revoked token is not verified again');
    assert.equal((await caching.verify(other)).cached, true, 'other sessions are untouched');
  });

  it('a token revoked before it was ever seen answers revoked_token (the event came first)', async () => {
    const token = (await fixture.signIn()).access_token;
    const { caching, calls } = countedVerifier();
    caching.revoke([sha256Hex(token)]);
    const error = await rejection(caching.verify(token));
    assert.ok(error instanceof TokenRejectedError);
    assert.equal(error.code, 'revoked_token');
    assert.equal(calls(), 0);
  });

  it('a token revoked while its verification is in flight is not cached and answers revoked_token', async () => {
    const token = (await fixture.signIn()).access_token;
    const { caching } = countedVerifier();
    const pending = caching.verify(token);
    caching.revoke([sha256Hex(token)]);
    const error = await rejection(pending);
    assert.ok(error instanceof TokenRejectedError);
    assert.equal(error.code, 'revoked_token');
    assert.equal(caching.cache.get(sha256Hex(token)), undefined);
  });

  it('never serves an entry past the token\'s exp (a real-key token living 2 s)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const shortLived = signWithJwk(await fixture.privateSigningJwk(), {
      iss: fixture.issuer,
      aud: TEST_AUDIENCE,
      sub: 'alice',
      preferred_username: 'alice',
      scope: 'api:read',
      iat: now,
      exp: now + 2,
    });
    const { caching, calls } = countedVerifier({ clockToleranceSeconds: 0 });
    assert.equal((await caching.verify(shortLived)).cached, false);
    assert.equal((await caching.verify(shortLived)).cached, true);
    await sleep((now + 2) * 1000 - Date.now() + 100);
    const error = await rejection(caching.verify(shortLived));
    assert.ok(error instanceof TokenRejectedError, String(error));
    assert.equal(error.code, 'expired_token');
    assert.equal(calls(), 2, 'the expired entry was not served; the verifier was asked again');
  });

  it('drops cached tokens of a key the IdP stopped publishing, once the verifier has refetched the JWKS', async () => {
    const token = (await fixture.signIn()).access_token;
    const cooldownMs = 300;
    const { caching, calls } = countedVerifier({ jwksCooldownMs: cooldownMs });
    await caching.verify(token);
    assert.equal((await caching.verify(token)).cached, true);

    const rotation = await fixture.idp.rotateSigningKeys({ dropPrevious: true });
    const fresh = (await fixture.signIn()).access_token;
    await sleep(cooldownMs + 50);
    assert.equal((await caching.verify(fresh)).kid, rotation.currentKid); // unknown kid → refetch
    const error = await rejection(caching.verify(token));
    assert.ok(error instanceof TokenRejectedError, String(error));
    assert.equal(error.code, 'invalid_token');
    assert.equal(calls(), 3);
  });

  it('refuses a 1 MB token by size without hashing it or asking the verifier', async () => {
    const { caching, calls } = countedVerifier();
    const started = performance.now();
    const error = await rejection(caching.verify(`eyJ${'A'.repeat(1024 * 1024)}`));
    assert.ok(error instanceof TokenRejectedError);
    assert.equal(error.code, 'invalid_token');
    assert.equal(calls(), 0);
    assert.ok(performance.now() - started < 20);
  });

  it('caches introspection answers for at most introspectionCacheSeconds', async () => {
    const tokens = await fixture.signIn();
    assert.ok(tokens.refresh_token);
    const opaque = (await fixture.refresh(tokens.refresh_token, 'openid profile email')).access_token;
    assert.ok(opaque);
    let clock = Date.now();
    const cache = new VerifiedTokenCache({ now: () => clock });
    const { caching, calls } = countedVerifier(
      { introspection: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: CONFIDENTIAL_CLIENT_SECRET } },
      cache,
    );
    const first = await caching.verify(opaque);
    assert.equal(first.method, 'introspection');
    assert.equal((await caching.verify(opaque)).cached, true);
    clock += 61_000; // past the default 60 s cap, long before the token's exp
    assert.equal((await caching.verify(opaque)).cached, false);
    assert.equal(calls(), 2);
  });

  it('does not cache failures: idp_unavailable now, verified once the IdP answers', async () => {
    const second = await startIdpFixture(testTls, { name: 'idp-restart' });
    const token = (await second.signIn()).access_token;
    const inner = new TokenVerifier({ issuer: second.issuer, audience: TEST_AUDIENCE, requestTimeoutMs: 1_000 });
    const caching = new CachingTokenVerifier({ verifier: inner });
    const port = second.idp.port;
    await second.close();
    const error = await rejection(caching.verify(token));
    assert.ok(error instanceof DependencyUnavailableError, String(error));
    assert.equal(error.code, 'idp_unavailable');

    // The same IdP (same keys, same port) comes back.
    const back = await startIdpFixture(testTls, { name: 'idp-restart', port });
    try {
      assert.equal(back.issuer, second.issuer);
      assert.equal((await caching.verify(token)).account.flwr_aid, 'alice');
    } finally {
      await back.close();
    }
  });
});

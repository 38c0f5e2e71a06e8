import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { DependencyUnavailableError, TokenVerificationError } from '@fedgate/contracts';
import {
  AttackerKey,
  CONFIDENTIAL_CLIENT_ID,
  CONFIDENTIAL_CLIENT_SECRET,
  TEST_AUDIENCE,
  countingFetch,
  createTestTls,
  sleep,
  startIdpFixture,
  type IdpFixture,
  type TestTls,
} from './testing/dev-idp-fixture';
import { buildForgedTokenCorpus, TokenRejectedError, TokenVerifier, type TokenVerifierOptions } from './index';

// Everything here runs against a real dev IdP (oidc-provider over HTTPS, in process) and
// real tokens from its device flow; nothing is mocked. The injectable fetch only counts.

let testTls: TestTls;
let fixture: IdpFixture;
let aliceToken: string;

function verifierFor(target: IdpFixture, options: Partial<TokenVerifierOptions> = {}): TokenVerifier {
  return new TokenVerifier({ issuer: target.issuer, audience: TEST_AUDIENCE, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  assert.fail('expected a rejection, got a verified token');
}

async function assertRejected(promise: Promise<unknown>, code: string): Promise<TokenRejectedError> {
  const error = await rejection(promise);
  assert.ok(error instanceof TokenRejectedError, `expected TokenRejectedError, got ${String(error)}`);
  assert.ok(error instanceof TokenVerificationError);
  assert.equal(error.code, code, error.description);
  assert.equal(error.status, 401);
  assert.ok(error.description.length > 0);
  return error;
}

before(async () => {
  testTls = await createTestTls();
  fixture = await startIdpFixture(testTls);
  aliceToken = (await fixture.signIn()).access_token;
});

after(async () => {
  await fixture?.close();
  await testTls?.dispose();
});

describe('TokenVerifier: JWT access tokens of the dev IdP', () => {
  it('verifies a real access token: account, scope, expiry, kid', async () => {
    const requests = countingFetch();
    const verifier = verifierFor(fixture, { fetch: requests.fetch });
    await verifier.warmUp();
    assert.equal(verifier.isKeyPublished(fixture.idp.signingKeyIds()[0] ?? ''), true);
    const result = await verifier.verify(aliceToken);
    assert.deepEqual(result.account, { flwr_aid: 'alice', account_name: 'alice' });
    assert.equal(result.scope, 'api:read');
    assert.equal(result.method, 'jwt');
    assert.equal(result.kid, fixture.idp.signingKeyIds()[0]);
    assert.equal(result.iss, fixture.issuer);
    assert.equal(result.sub, 'alice');
    assert.equal(result.client_id, 'fedgate');
    const nowSeconds = Math.floor(Date.now() / 1000);
    assert.ok(result.expires_at > nowSeconds && result.expires_at <= nowSeconds + 300, `expires_at ${result.expires_at}`);
    assert.equal(requests.count('/jwks'), 1);
    assert.equal(requests.total(), 2, 'one discovery, one JWKS, no introspection');

    const bob = await verifier.verify((await fixture.signIn({ username: 'bob', scope: 'openid api:read api:write' })).access_token);
    assert.deepEqual(bob.account, { flwr_aid: 'bob', account_name: 'bob' });
    assert.equal(bob.scope, 'api:read api:write');
    assert.equal(requests.count('/jwks'), 1, 'the JWKS is fetched once, not per token');
  });

  it('refuses 100% of the forged-token corpus, each with its expected code', async (t) => {
    const corpus = await buildForgedTokenCorpus({
      validToken: aliceToken,
      issuer: fixture.issuer,
      audience: TEST_AUDIENCE,
      idpJwks: await fixture.publicJwks(),
      idpPrivateJwk: await fixture.privateSigningJwk(),
    });
    const required = [
      'alg-none', 'hs256-with-idp-public-key-pem', 'wrong-signature', 'expired', 'not-yet-valid', 'wrong-issuer',
      'wrong-audience', 'unknown-kid', 'kid-path-traversal', 'kid-url', 'self-signed-with-idp-kid', 'truncated',
      'one-megabyte-token',
    ];
    for (const name of required) assert.ok(corpus.some((entry) => entry.name === name), `corpus lacks ${name}`);
    assert.equal(new Set(corpus.map((entry) => entry.name)).size, corpus.length, 'names are unique');

    const requests = countingFetch();
    const verifier = verifierFor(fixture, { fetch: requests.fetch });
    const outcomes: string[] = [];
    let refused = 0;
    for (const entry of corpus) {
      const error = await rejection(verifier.verify(entry.token)).catch((e: unknown) => e);
      const code = error instanceof TokenVerificationError ? error.code : `not-a-token-error:${String(error)}`;
      if (code === entry.expectedError && error instanceof TokenRejectedError) refused += 1;
      else outcomes.push(`${entry.name}: expected ${entry.expectedError}, got ${code}`);
    }
    assert.deepEqual(outcomes, [], 'every forged token is refused with its code');
    assert.equal(refused, corpus.length);
    t.diagnostic(`forged-token corpus: ${refused}/${corpus.length} refused with the expected code (${corpus.filter((e) => e.signedWithIdpKey).length} signed with the real IdP key)`);

    // Unknown kids inside the cooldown did not make the verifier hammer the IdP.
    assert.equal(requests.count('/jwks'), 1, `JWKS requests: ${requests.paths.join(' ')}`);
    // And the genuine token still verifies afterwards.
    assert.equal((await verifier.verify(aliceToken)).account.flwr_aid, 'alice');
  });

  it('carries the unverified kid, iss and sub on a refusal, for audit', async () => {
    const corpus = await buildForgedTokenCorpus({
      validToken: aliceToken,
      issuer: fixture.issuer,
      audience: TEST_AUDIENCE,
      idpJwks: await fixture.publicJwks(),
      idpPrivateJwk: await fixture.privateSigningJwk(),
    });
    const byName = (name: string) => corpus.find((entry) => entry.name === name)?.token ?? assert.fail(name);
    const verifier = verifierFor(fixture);

    const wrongIssuer = await assertRejected(verifier.verify(byName('wrong-issuer')), 'invalid_token');
    assert.equal(wrongIssuer.iss, 'https://attacker.example');
    assert.equal(wrongIssuer.sub, 'alice');
    assert.equal(wrongIssuer.kid, fixture.idp.signingKeyIds()[0]);
    assert.match(wrongIssuer.description, /"iss"/);

    const expired = await assertRejected(verifier.verify(byName('expired')), 'expired_token');
    assert.equal(expired.sub, 'alice');
    assert.match(expired.description, /"exp"/);

    assert.match((await assertRejected(verifier.verify(byName('wrong-audience')), 'invalid_token')).description, /"aud"/);
    assert.match((await assertRejected(verifier.verify(byName('not-yet-valid')), 'invalid_token')).description, /"nbf"/);
    assert.match((await assertRejected(verifier.verify(byName('alg-none')), 'invalid_token')).description, /alg "none"/);
    assert.match((await assertRejected(verifier.verify(byName('hs256-with-idp-public-key-pem')), 'invalid_token')).description, /symmetric/);
    const injected = await assertRejected(verifier.verify(byName('kid-path-traversal')), 'invalid_token');
    assert.equal(injected.kid, undefined, 'an injected kid is not echoed into audit records');
    assert.match(injected.description, /key id/);
    assert.match((await assertRejected(verifier.verify(byName('one-megabyte-token')), 'invalid_token')).description, /longer than 16384/);
  });

  it('refuses a 1 MB token, bad input and header attacks without a single request to the IdP', async () => {
    const corpus = await buildForgedTokenCorpus({
      validToken: aliceToken,
      issuer: fixture.issuer,
      audience: TEST_AUDIENCE,
      idpJwks: await fixture.publicJwks(),
      idpPrivateJwk: await fixture.privateSigningJwk(),
    });
    const offline = [
      'alg-none', 'alg-none-capitalised', 'alg-none-with-signature', 'hs256-with-idp-public-key-pem', 'hs256-with-idp-public-jwk',
      'hs512-with-idp-modulus', 'alg-missing', 'embedded-jwk', 'jku-header', 'x5u-header', 'kid-path-traversal', 'kid-url',
      'kid-url-encoded-traversal', 'kid-sql-injection', 'kid-crlf-header-injection', 'kid-null-byte', 'kid-oversized', 'kid-empty',
      'kid-not-a-string', 'empty', 'whitespace', 'bearer-prefixed', 'truncated', 'one-megabyte-token', 'not-base64url',
      'header-not-json', 'header-json-array', 'payload-not-json', 'payload-json-string', 'jwe-five-segments', 'two-segments',
      'garbage', 'wrong-issuer',
    ];
    const requests = countingFetch();
    const verifier = verifierFor(fixture, { fetch: requests.fetch, introspection: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: CONFIDENTIAL_CLIENT_SECRET } });
    for (const name of offline) {
      const entry = corpus.find((candidate) => candidate.name === name);
      assert.ok(entry, name);
      const started = performance.now();
      await assertRejected(verifier.verify(entry.token), 'invalid_token');
      if (name === 'one-megabyte-token') {
        assert.ok(entry.token.length > 1024 * 1024);
        assert.ok(performance.now() - started < 50, 'refused by size, before any parsing');
      }
    }
    for (const notAString of [undefined, null, 42, {}, [], new Uint8Array(4)]) {
      await assertRejected(verifier.verify(notAString as unknown as string), 'invalid_token');
    }
    await assertRejected(verifier.verify('a'.repeat(16_385)), 'invalid_token');
    await assertRejected(verifier.verify('eyJ\u0000.x.y'), 'invalid_token');
    assert.deepEqual(requests.paths, [], 'no request reached the IdP');
  });

  it('refuses opaque tokens with invalid_token when introspection is not configured, without asking the IdP', async () => {
    const requests = countingFetch();
    const verifier = verifierFor(fixture, { fetch: requests.fetch });
    const error = await assertRejected(verifier.verify('o2SZ8c7nHf1Zr9v0xMcX4k3xQwHkq1vA7fP2eD9kLwQ'), 'invalid_token');
    assert.match(error.description, /introspection/);
    assert.deepEqual(requests.paths, []);
  });

  it('rejects unsafe configuration: none, HMAC, empty audience, http issuer', () => {
    for (const algorithms of [['none'], ['HS256'], []]) {
      assert.throws(() => verifierFor(fixture, { algorithms: algorithms as never }), TypeError);
    }
    assert.throws(() => new TokenVerifier({ issuer: fixture.issuer, audience: '' }), TypeError);
    assert.throws(() => new TokenVerifier({ issuer: 'http://127.0.0.1:1', audience: TEST_AUDIENCE }), TypeError);
  });
});

describe('TokenVerifier: JWKS rotation and refetch cooldown', () => {
  it('verifies a token of a rotated-in key after exactly one JWKS refetch', async () => {
    const requests = countingFetch();
    const cooldownMs = 400;
    const verifier = verifierFor(fixture, { fetch: requests.fetch, jwksCooldownMs: cooldownMs });
    await verifier.verify(aliceToken);
    assert.equal(requests.count('/jwks'), 1);

    const rotation = await fixture.idp.rotateSigningKeys();
    const newToken = (await fixture.signIn()).access_token;
    assert.equal(decodeProtectedHeader(newToken).kid, rotation.currentKid);
    assert.equal(verifier.isKeyPublished(rotation.currentKid), false);
    await sleep(cooldownMs + 50); // the previous fetch is older than the cooldown

    const result = await verifier.verify(newToken);
    assert.equal(result.kid, rotation.currentKid);
    assert.equal(requests.count('/jwks'), 2, 'exactly one refetch');
    assert.equal(verifier.isKeyPublished(rotation.currentKid), true);
    // the previous key is still published, so older tokens keep verifying, with no more fetches
    assert.equal((await verifier.verify(aliceToken)).account.flwr_aid, 'alice');
    assert.equal((await verifier.verify(newToken)).account.flwr_aid, 'alice');
    assert.equal(requests.count('/jwks'), 2);
  });

  it('a token of a new key, inside the cooldown, is refused until the cooldown ends (documented trade-off)', async () => {
    const requests = countingFetch();
    const verifier = verifierFor(fixture, { fetch: requests.fetch, jwksCooldownMs: 60_000 });
    await verifier.verify(aliceToken);
    const rotation = await fixture.idp.rotateSigningKeys();
    const newToken = (await fixture.signIn()).access_token;
    const error = await assertRejected(verifier.verify(newToken), 'invalid_token');
    assert.match(error.description, new RegExp(rotation.currentKid));
    assert.equal(requests.count('/jwks'), 1, 'no refetch inside the cooldown');
  });

  it('a burst of 50 tokens with random unknown kids costs at most one JWKS request', async (t) => {
    const attacker = new AttackerKey();
    const burst = (): Promise<unknown[]> =>
      Promise.all(Array.from({ length: 50 }, () => assertRejected(verifier.verify(attacker.unknownKidToken(fixture.issuer)), 'invalid_token')));

    const requests = countingFetch();
    const cooldownMs = 1_000;
    const verifier = verifierFor(fixture, { fetch: requests.fetch, jwksCooldownMs: cooldownMs });
    await verifier.verify(aliceToken);
    assert.equal(requests.count('/jwks'), 1);

    // Right after a fetch: the whole burst is inside the cooldown → no request.
    await burst();
    assert.equal(requests.count('/jwks'), 1, 'burst inside the cooldown');

    // Cooldown over: the first unknown kid refetches, the other 49 share or respect it.
    await sleep(cooldownMs + 50);
    await burst();
    assert.equal(requests.count('/jwks'), 2, 'burst after the cooldown: one refetch for 50 unknown kids');

    // 50 more, one after another, still inside the new cooldown → nothing.
    for (let i = 0; i < 50; i += 1) await assertRejected(verifier.verify(attacker.unknownKidToken(fixture.issuer)), 'invalid_token');
    assert.equal(requests.count('/jwks'), 2, 'sequential unknown kids inside the cooldown');
    t.diagnostic(`unknown-kid bursts: 150 forged kids → ${requests.count('/jwks') - 1} JWKS refetch(es)`);
  });

  it('after rotateSigningKeys({dropPrevious:true}) and a refetch, a token of a dropped key stops verifying', async () => {
    const requests = countingFetch();
    const cooldownMs = 400;
    const verifier = verifierFor(fixture, { fetch: requests.fetch, jwksCooldownMs: cooldownMs });
    const before = (await fixture.signIn()).access_token;
    const oldKid = decodeProtectedHeader(before).kid;
    assert.ok(oldKid);
    await verifier.verify(before);

    const rotation = await fixture.idp.rotateSigningKeys({ dropPrevious: true });
    assert.ok(rotation.droppedKids.includes(oldKid));
    const afterRotation = (await fixture.signIn()).access_token;
    // Until the verifier refetches, its cached JWKS still holds the old key.
    assert.equal((await verifier.verify(before)).account.flwr_aid, 'alice');

    await sleep(cooldownMs + 50);
    assert.equal((await verifier.verify(afterRotation)).kid, rotation.currentKid); // the refetch
    const jwksAfterRefetch = requests.count('/jwks');
    assert.equal(jwksAfterRefetch, 2);
    assert.equal(verifier.isKeyPublished(oldKid), false);
    const error = await assertRejected(verifier.verify(before), 'invalid_token');
    assert.match(error.description, /does not publish/);
    assert.equal(error.kid, oldKid);
  });
});

describe('TokenVerifier: the IdP cannot answer → idp_unavailable, never valid', () => {
  it('a stopped IdP: discovery fails → idp_unavailable; cached keys serve until their max age, then idp_unavailable', async () => {
    const second = await startIdpFixture(testTls, { name: 'idp-stopped' });
    const token = (await second.signIn()).access_token;
    const attacker = new AttackerKey();
    const cacheMaxAgeMs = 1_000;
    const warm = verifierFor(second, { jwksCooldownMs: 200, jwksCacheMaxAgeMs: cacheMaxAgeMs, requestTimeoutMs: 1_000 });
    await warm.verify(token);
    const cold = verifierFor(second, { requestTimeoutMs: 1_000 });
    await second.close();

    const coldError = await rejection(cold.verify(token));
    assert.ok(coldError instanceof DependencyUnavailableError, String(coldError));
    assert.equal(coldError.code, 'idp_unavailable');
    assert.equal(coldError.status, 503);
    assert.equal(coldError.dependency, 'idp');
    const warmUpError = await rejection(cold.warmUp());
    assert.ok(warmUpError instanceof DependencyUnavailableError && warmUpError.code === 'idp_unavailable', String(warmUpError));

    // The warm verifier still holds the JWKS it fetched: the same key verifies without the IdP.
    assert.equal((await warm.verify(token)).account.flwr_aid, 'alice');
    // An unknown kid needs a refetch, which cannot happen.
    await sleep(250);
    const unknownError = await rejection(warm.verify(attacker.unknownKidToken(second.issuer)));
    assert.ok(unknownError instanceof DependencyUnavailableError, String(unknownError));
    assert.equal(unknownError.code, 'idp_unavailable');
    // Once the JWKS is older than its max age, nothing verifies any more.
    await sleep(cacheMaxAgeMs);
    const staleError = await rejection(warm.verify(token));
    assert.ok(staleError instanceof DependencyUnavailableError, String(staleError));
    assert.match(staleError.description, /JWKS/);
  });

  it('a hung IdP: requests time out after requestTimeoutMs → idp_unavailable', async () => {
    const sockets: import('node:net').Socket[] = [];
    const hung: Server = createServer((socket) => sockets.push(socket)); // accepts, never answers (not even TLS)
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = hung.address() as AddressInfo;
      const issuer = `https://127.0.0.1:${port}`;
      const verifier = new TokenVerifier({ issuer, audience: TEST_AUDIENCE, requestTimeoutMs: 300 });
      const started = performance.now();
      const error = await rejection(verifier.verify(new AttackerKey().unknownKidToken(issuer)));
      const elapsed = performance.now() - started;
      assert.ok(error instanceof DependencyUnavailableError, String(error));
      assert.equal(error.code, 'idp_unavailable');
      assert.match(error.description, /timed out/);
      assert.ok(elapsed < 2_000, `answered after ${Math.round(elapsed)} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });
});

describe('TokenVerifier: opaque tokens via RFC 7662 introspection', () => {
  const introspection = { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: CONFIDENTIAL_CLIENT_SECRET };

  it('verifies an opaque access token at the IdP (confidential client)', async () => {
    const tokens = await fixture.signIn();
    assert.ok(tokens.refresh_token);
    // Narrowing a refresh to OIDC scopes makes the dev IdP issue an opaque access token.
    const opaque = await fixture.refresh(tokens.refresh_token, 'openid profile email');
    assert.ok(opaque.access_token, JSON.stringify(opaque));
    assert.equal(opaque.access_token.split('.').length, 1, 'opaque, not a JWT');

    const requests = countingFetch();
    const verifier = verifierFor(fixture, { fetch: requests.fetch, introspection });
    const result = await verifier.verify(opaque.access_token);
    assert.equal(result.method, 'introspection');
    assert.deepEqual(result.account, { flwr_aid: 'alice', account_name: 'alice' });
    assert.equal(result.scope, 'openid profile email');
    assert.equal(result.iss, fixture.issuer);
    assert.equal(result.client_id, 'fedgate');
    const nowSeconds = Math.floor(Date.now() / 1000);
    assert.ok(result.expires_at > nowSeconds && result.expires_at <= nowSeconds + 300);
    assert.equal(requests.count('/token/introspection'), 1);
    assert.equal(requests.count('/jwks'), 0, 'introspection needs no JWKS');

    // Revoked at the IdP → the next introspection answers inactive.
    assert.equal(await fixture.revoke(opaque.access_token, 'access_token'), 200);
    const revoked = await assertRejected(verifier.verify(opaque.access_token), 'invalid_token');
    assert.match(revoked.description, /not active/);
  });

  it('introspects only as a confidential client: a client id without its secret is refused at construction', () => {
    assert.throws(() => verifierFor(fixture, { introspection: { clientId: 'fedgate' } as never }), /confidential client/);
  });

  it('refuses a refresh token presented as an access token (the IdP answers active, without token_type)', async () => {
    const tokens = await fixture.signIn();
    assert.ok(tokens.refresh_token);
    const verifier = verifierFor(fixture, { introspection });
    const error = await assertRejected(verifier.verify(tokens.refresh_token), 'invalid_token');
    assert.match(error.description, /bearer access token/);
    assert.equal(error.sub, 'alice', 'the IdP named the subject; kept for audit');
  });

  it('refuses an unknown opaque token (inactive), and a garbage token as invalid (not idp_unavailable) when the IdP refuses the client', async () => {
    const verifier = verifierFor(fixture, { introspection });
    await assertRejected(verifier.verify('uNkNoWnOpAqUeToKeN0123456789abcdefghijklmno'), 'invalid_token');

    const misconfigured = verifierFor(fixture, { introspection: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: 'wrong-secret-0123456789' } });
    const error = await assertRejected(misconfigured.verify('uNkNoWnOpAqUeToKeN0123456789abcdefghijklmno'), 'invalid_token');
    assert.match(error.description, /refused Fedgate's introspection client .*FEDGATE_OIDC_CLIENT_SECRET/);
  });
});

describe('TokenVerifier: speed', () => {
  it('measures jose verification of one real token (2000 verifies, no cache)', async (t) => {
    const token = (await fixture.signIn()).access_token;
    const requests = countingFetch();
    const verifier = verifierFor(fixture, { fetch: requests.fetch, jwksCooldownMs: 60_000 });
    await verifier.verify(token); // discovery + JWKS
    const count = 2_000;
    const started = performance.now();
    for (let i = 0; i < count; i += 1) await verifier.verify(token);
    const seconds = (performance.now() - started) / 1000;
    const rate = Math.round(count / seconds);
    t.diagnostic(`jose RS256 verify: ${count} in ${seconds.toFixed(2)} s → ${rate}/s (${((seconds * 1e6) / count).toFixed(0)} µs each)`);
    assert.ok(rate > 200, `verify rate ${rate}/s`);
    assert.equal(requests.count('/jwks'), 1);
  });
});

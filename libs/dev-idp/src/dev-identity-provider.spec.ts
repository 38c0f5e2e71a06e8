import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  DeviceLoginError,
  approveDeviceLogin,
  createDevIdentityProvider,
  createThrowawayTls,
  deviceCodeGrantType,
  trustCertificateAuthorityForFetch,
  type DevIdentityProvider,
  type ThrowawayTls,
} from './index';

// The whole suite shares one IdP on an ephemeral port, signed by a CA made for this run.
// NODE_EXTRA_CA_CERTS cannot be set from inside the process, so fetch is pointed at the
// throwaway CA with trustCertificateAuthorityForFetch().

const apiAudience = 'https://fedgate.test/api';
const adminKey = 'test-admin-key-0123456789';
const confidentialClientSecret = 'test-confidential-secret-0123456789';

interface DiscoveryDocument {
  issuer: string;
  device_authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
  userinfo_endpoint: string;
  grant_types_supported: string[];
}

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
}

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

let workDirectory: string;
let tls: ThrowawayTls;
let restoreFetchTrust: () => Promise<void>;
let idp: DevIdentityProvider;
let discovery: DiscoveryDocument;

function formPost(params: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { ...headers }, body: new URLSearchParams(params) };
}

function basicAuthorization(clientId: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` };
}

async function startDeviceAuthorization(scope: string): Promise<DeviceAuthorization> {
  const response = await fetch(discovery.device_authorization_endpoint, formPost({ client_id: idp.clientId, scope }));
  assert.equal(response.status, 200);
  return (await response.json()) as DeviceAuthorization;
}

async function requestToken(params: Record<string, string>): Promise<{ status: number; body: TokenResponse }> {
  const response = await fetch(discovery.token_endpoint, formPost({ client_id: idp.clientId, ...params }));
  return { status: response.status, body: (await response.json()) as TokenResponse };
}

function pollDeviceToken(deviceCode: string): Promise<{ status: number; body: TokenResponse }> {
  return requestToken({ grant_type: deviceCodeGrantType, device_code: deviceCode });
}

async function signIn(scope = 'openid profile email offline_access api:read'): Promise<TokenResponse> {
  const authorization = await startDeviceAuthorization(scope);
  const result = await approveDeviceLogin({
    issuer: idp.issuer,
    userCode: authorization.user_code,
    username: 'alice',
    password: 'alice-password',
  });
  assert.deepEqual(result, { outcome: 'approved' });
  const { status, body } = await pollDeviceToken(authorization.device_code);
  assert.equal(status, 200, JSON.stringify(body.error));
  return body;
}

function remoteJwks(): ReturnType<typeof createRemoteJWKSet> {
  // A fresh set per use: the cached one would not see keys added by a rotation at once.
  return createRemoteJWKSet(new URL(discovery.jwks_uri));
}

async function verifyAccessToken(accessToken: string): Promise<Record<string, unknown>> {
  const { payload } = await jwtVerify(accessToken, remoteJwks(), {
    issuer: idp.issuer,
    audience: apiAudience,
    algorithms: ['RS256'],
  });
  return payload;
}

before(async () => {
  workDirectory = await mkdtemp(join(tmpdir(), 'dev-idp-spec-'));
  tls = await createThrowawayTls(workDirectory);
  restoreFetchTrust = await trustCertificateAuthorityForFetch(tls.caPem);
  idp = await createDevIdentityProvider({
    tls: { certFile: tls.certFile, keyFile: tls.keyFile },
    apiAudience,
    jwksFile: join(workDirectory, 'idp', 'jwks.json'),
    adminKey,
    confidentialClient: { clientSecret: confidentialClientSecret },
    accessTokenTtlSeconds: 120,
  });
  discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as DiscoveryDocument;
});

after(async () => {
  await idp?.close();
  await restoreFetchTrust?.();
  await rm(workDirectory, { recursive: true, force: true });
});

describe('dev identity provider', () => {
  it('answers /healthz and publishes the device flow, introspection, revocation and userinfo', async () => {
    const health = await fetch(`${idp.issuer}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok');

    assert.match(idp.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(discovery.issuer, idp.issuer);
    assert.ok(discovery.device_authorization_endpoint.startsWith(idp.issuer));
    assert.ok(discovery.introspection_endpoint);
    assert.ok(discovery.revocation_endpoint);
    assert.ok(discovery.userinfo_endpoint);
    assert.ok(discovery.grant_types_supported.includes(deviceCodeGrantType));
    assert.ok(discovery.grant_types_supported.includes('refresh_token'));
  });

  it('runs a full device flow: RS256 JWT for the API audience, ID token claims, rotating refresh tokens', async () => {
    const authorization = await startDeviceAuthorization('openid profile email offline_access api:read');
    assert.match(authorization.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(authorization.verification_uri, `${idp.issuer}/device`);

    const pending = await pollDeviceToken(authorization.device_code);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');

    const result = await approveDeviceLogin({
      issuer: idp.issuer,
      userCode: authorization.user_code.toLowerCase(), // users type codes in any case
      username: 'alice',
      password: 'alice-password',
    });
    assert.deepEqual(result, { outcome: 'approved' });

    const { status, body: tokens } = await pollDeviceToken(authorization.device_code);
    assert.equal(status, 200);
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 120);
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);

    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, idp.signingKeyIds()[0]);
    const claims = await verifyAccessToken(tokens.access_token);
    assert.equal(claims['sub'], 'alice');
    assert.equal(claims['aud'], apiAudience);
    assert.equal(claims['client_id'], 'fedgate');
    assert.equal(claims['preferred_username'], 'alice');
    assert.equal(claims['name'], 'Alice Example');
    assert.equal(claims['scope'], 'api:read');

    const idToken = decodeJwt(tokens.id_token);
    assert.equal(idToken['sub'], 'alice');
    assert.equal(idToken['preferred_username'], 'alice');
    assert.equal(idToken['name'], 'Alice Example');
    assert.equal(idToken['email'], 'alice@example.com');

    const refreshed = await requestToken({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 200);
    assert.ok(refreshed.body.access_token && refreshed.body.refresh_token);
    assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token, 'refresh token must rotate');
    assert.equal((await verifyAccessToken(refreshed.body.access_token))['sub'], 'alice');

    // replaying the consumed refresh token fails and revokes the grant (reuse detection)
    const replayed = await requestToken({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(replayed.status, 400);
    assert.equal(replayed.body.error, 'invalid_grant');
    const afterReuse = await requestToken({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token });
    assert.equal(afterReuse.body.error, 'invalid_grant');
  });

  it('accepts a device code only once', async () => {
    const authorization = await startDeviceAuthorization('openid offline_access api:read');
    await approveDeviceLogin({ issuer: idp.issuer, userCode: authorization.user_code, username: 'bob', password: 'bob-password' });
    const first = await pollDeviceToken(authorization.device_code);
    assert.equal(first.status, 200);
    assert.equal((await verifyAccessToken(first.body.access_token ?? ''))['sub'], 'bob');
    const replayed = await pollDeviceToken(authorization.device_code);
    assert.equal(replayed.status, 400);
    assert.equal(replayed.body.error, 'invalid_grant');
  });

  it('issues no refresh token without offline_access', async () => {
    const tokens = await signIn('openid profile api:read');
    assert.ok(tokens.access_token);
    assert.equal(tokens.refresh_token, undefined);
    await verifyAccessToken(tokens.access_token);
  });

  it('rejects a wrong password or an unknown user with invalid_credentials', async () => {
    for (const [username, password] of [
      ['alice', 'wrong-password'],
      ['alice', 'bob-password'],
      ['mallory', 'alice-password'],
    ] as const) {
      // A confirmed user code is "in flight" in oidc-provider: a failed sign-in needs a new one.
      const authorization = await startDeviceAuthorization('openid offline_access');
      await assert.rejects(
        approveDeviceLogin({ issuer: idp.issuer, userCode: authorization.user_code, username, password }),
        (error: unknown) => error instanceof DeviceLoginError && error.code === 'invalid_credentials',
      );
      const pending = await pollDeviceToken(authorization.device_code);
      assert.equal(pending.body.error, 'authorization_pending');
    }
  });

  it('rejects an unknown user code with invalid_user_code', async () => {
    await assert.rejects(
      approveDeviceLogin({ issuer: idp.issuer, userCode: 'BCDF-GHJK', username: 'alice', password: 'alice-password' }),
      (error: unknown) => error instanceof DeviceLoginError && error.code === 'invalid_user_code',
    );
  });

  it('rejects a user code that was already used with invalid_user_code', async () => {
    const authorization = await startDeviceAuthorization('openid');
    await approveDeviceLogin({ issuer: idp.issuer, userCode: authorization.user_code, username: 'bob', password: 'bob-password' });
    await assert.rejects(
      approveDeviceLogin({ issuer: idp.issuer, userCode: authorization.user_code, username: 'bob', password: 'bob-password' }),
      (error: unknown) => error instanceof DeviceLoginError && error.code === 'invalid_user_code',
    );
  });

  it('limits user-code guessing per address (RFC 8628 §5.1): after 3 wrong codes even the right one is refused, with 429 and Retry-After', async () => {
    const limited = await createDevIdentityProvider({ tls: { certFile: tls.certFile, keyFile: tls.keyFile }, apiAudience, userCodeGuessLimit: { attempts: 3, windowSeconds: 60 } });
    try {
      const endpoints = (await (await fetch(`${limited.issuer}/.well-known/openid-configuration`)).json()) as DiscoveryDocument;
      const authorization = (await (await fetch(endpoints.device_authorization_endpoint, formPost({ client_id: limited.clientId, scope: 'openid' }))).json()) as DeviceAuthorization;
      for (const guess of ['BCDF-GHJK', 'BCDF-GHJL', 'BCDF-GHJM']) {
        await assert.rejects(
          approveDeviceLogin({ issuer: limited.issuer, userCode: guess, username: 'alice', password: 'alice-password' }),
          (error: unknown) => error instanceof DeviceLoginError && error.code === 'invalid_user_code' && /does not know/.test(error.message),
        );
      }
      await assert.rejects(
        approveDeviceLogin({ issuer: limited.issuer, userCode: authorization.user_code, username: 'alice', password: 'alice-password' }),
        (error: unknown) => error instanceof DeviceLoginError && /too_many_attempts/.test(error.message),
      );
      const refused = await fetch(`${limited.issuer}/device`, formPost({ user_code: authorization.user_code, xsrf: 'x' }));
      assert.equal(refused.status, 429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      // nothing was approved: the device is still waiting
      const poll = await fetch(endpoints.token_endpoint, formPost({ client_id: limited.clientId, grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: authorization.device_code }));
      assert.equal(((await poll.json()) as { error?: string }).error, 'authorization_pending');
    } finally {
      await limited.close();
    }
  });

  it('reports idp_unreachable when nothing listens', async () => {
    const closedIdp = await createDevIdentityProvider({ tls: { certFile: tls.certFile, keyFile: tls.keyFile }, apiAudience });
    const { issuer } = closedIdp;
    await closedIdp.close();
    await assert.rejects(
      approveDeviceLogin({ issuer, userCode: 'BCDF-GHJK', username: 'alice', password: 'alice-password', timeoutMs: 2000 }),
      (error: unknown) => error instanceof DeviceLoginError && error.code === 'idp_unreachable',
    );
  });

  it('lets the user cancel: the device gets access_denied', async () => {
    const authorization = await startDeviceAuthorization('openid offline_access');
    const result = await approveDeviceLogin({
      issuer: idp.issuer,
      userCode: authorization.user_code,
      username: 'alice',
      password: 'alice-password',
      deny: true,
    });
    assert.deepEqual(result, { outcome: 'denied' });
    const denied = await pollDeviceToken(authorization.device_code);
    assert.equal(denied.status, 400);
    assert.equal(denied.body.error, 'access_denied');
  });

  it('introspects (RFC 7662) and revokes (RFC 7009) refresh tokens; JWT access tokens are refused there', async () => {
    const tokens = await signIn();
    assert.ok(tokens.access_token && tokens.refresh_token);
    const confidential = basicAuthorization('fedgate-confidential', confidentialClientSecret);
    const introspect = async (token: string, headers = confidential, extra: Record<string, string> = {}) => {
      const response = await fetch(discovery.introspection_endpoint, formPost({ token, ...extra }, headers));
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    const refreshToken = await introspect(tokens.refresh_token);
    assert.equal(refreshToken.status, 200);
    assert.equal(refreshToken.body['active'], true);
    assert.equal(refreshToken.body['sub'], 'alice');
    assert.equal(refreshToken.body['client_id'], 'fedgate');

    // the public client may introspect its own tokens
    const ownToken = await introspect(tokens.refresh_token, {}, { client_id: 'fedgate' });
    assert.equal(ownToken.body['active'], true);

    // oidc-provider refuses structured (JWT) access tokens: verify those with the JWKS
    const jwtAccessToken = await introspect(tokens.access_token);
    assert.equal(jwtAccessToken.status, 400);
    assert.equal(jwtAccessToken.body['error'], 'unsupported_token_type');

    const wrongSecret = await introspect(tokens.refresh_token, basicAuthorization('fedgate-confidential', 'not-the-secret-at-all'));
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body['error'], 'invalid_client');

    // the public client revokes its own refresh token; the refresh grant then fails
    const revoked = await fetch(
      discovery.revocation_endpoint,
      formPost({ client_id: 'fedgate', token: tokens.refresh_token, token_type_hint: 'refresh_token' }),
    );
    assert.equal(revoked.status, 200);
    const refresh = await requestToken({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(refresh.body.error, 'invalid_grant');
    assert.equal((await introspect(tokens.refresh_token)).body['active'], false);
  });

  it('serves userinfo for an identity-only access token obtained by narrowing the scope on refresh', async () => {
    const tokens = await signIn();
    assert.ok(tokens.access_token && tokens.refresh_token);

    // API tokens carry the API audience, which oidc-provider refuses at userinfo
    const refused = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(refused.status, 401);

    const identity = await requestToken({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      scope: 'openid profile email',
    });
    assert.equal(identity.status, 200);
    assert.ok(identity.body.access_token);
    assert.equal(identity.body.access_token.split('.').length, 1, 'identity access tokens are opaque');
    const userinfo = await fetch(discovery.userinfo_endpoint, {
      headers: { authorization: `Bearer ${identity.body.access_token}` },
    });
    assert.equal(userinfo.status, 200);
    assert.deepEqual(await userinfo.json(), {
      sub: 'alice',
      preferred_username: 'alice',
      name: 'Alice Example',
      email: 'alice@example.com',
      email_verified: true,
    });

    // opaque access tokens can be introspected and revoked (here by the confidential client)
    const confidential = basicAuthorization('fedgate-confidential', confidentialClientSecret);
    const introspected = await fetch(discovery.introspection_endpoint, formPost({ token: identity.body.access_token }, confidential));
    const introspection = (await introspected.json()) as Record<string, unknown>;
    assert.equal(introspection['active'], true);
    assert.equal(introspection['sub'], 'alice');
    assert.equal(introspection['token_type'], 'Bearer');
    const revoked = await fetch(discovery.revocation_endpoint, formPost({ token: identity.body.access_token }, confidential));
    assert.equal(revoked.status, 200);
    const afterRevocation = await fetch(discovery.userinfo_endpoint, {
      headers: { authorization: `Bearer ${identity.body.access_token}` },
    });
    assert.equal(afterRevocation.status, 401);
  });

  it('rotates signing keys via the admin endpoint: new kid signs, old tokens still verify, dropping removes them', async () => {
    const before = await signIn();
    assert.ok(before.access_token);
    const oldKid = decodeProtectedHeader(before.access_token).kid;

    const rotateUrl = `${idp.issuer}/dev/rotate-keys`;
    assert.equal((await fetch(rotateUrl, { method: 'POST' })).status, 401);
    assert.equal((await fetch(rotateUrl, { method: 'POST', headers: { authorization: 'Bearer wrong-admin-key-000000' } })).status, 401);

    const rotation = await fetch(rotateUrl, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(rotation.status, 200);
    const rotated = (await rotation.json()) as { currentKid: string; verificationKids: string[]; droppedKids: string[] };
    assert.notEqual(rotated.currentKid, oldKid);
    assert.deepEqual(rotated.verificationKids, [rotated.currentKid, oldKid]);
    assert.deepEqual(rotated.droppedKids, []);

    const published = (await (await fetch(discovery.jwks_uri)).json()) as { keys: Array<Record<string, unknown>> };
    assert.deepEqual(published.keys.map((key) => key['kid']), [rotated.currentKid, oldKid]);
    assert.ok(published.keys.every((key) => key['d'] === undefined), 'the JWKS must not leak private keys');

    const after = await signIn();
    assert.ok(after.access_token);
    assert.equal(decodeProtectedHeader(after.access_token).kid, rotated.currentKid);
    await verifyAccessToken(after.access_token);
    await verifyAccessToken(before.access_token);

    // the rotation is persisted to the JWKS file, current key first
    const stored = JSON.parse(await readFile(join(workDirectory, 'idp', 'jwks.json'), 'utf8')) as { keys: Array<{ kid: string }> };
    assert.deepEqual(stored.keys.map((key) => key.kid), [rotated.currentKid, oldKid]);
    assert.equal((await stat(join(workDirectory, 'idp', 'jwks.json'))).mode & 0o777, 0o600);

    const dropping = await fetch(rotateUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dropPrevious: true }),
    });
    assert.equal(dropping.status, 200);
    const dropped = (await dropping.json()) as { currentKid: string; verificationKids: string[]; droppedKids: string[] };
    assert.deepEqual(dropped.verificationKids, [dropped.currentKid]);
    assert.deepEqual(dropped.droppedKids, [rotated.currentKid, oldKid]);
    await assert.rejects(verifyAccessToken(before.access_token), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await assert.rejects(verifyAccessToken(after.access_token), { code: 'ERR_JWKS_NO_MATCHING_KEY' });

    // sessions and refresh tokens survive a rotation: the refresh token from before still works
    assert.ok(after.refresh_token);
    const refreshed = await requestToken({ grant_type: 'refresh_token', refresh_token: after.refresh_token });
    assert.equal(refreshed.status, 200);
    assert.ok(refreshed.body.access_token);
    assert.equal(decodeProtectedHeader(refreshed.body.access_token).kid, dropped.currentKid);
    await verifyAccessToken(refreshed.body.access_token);
  });

  it('refuses malformed rotation requests', async () => {
    const response = await fetch(`${idp.issuer}/dev/rotate-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: '{"dropPrevious": "yes"}',
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
  });

  it('keeps its signing keys across restarts through the JWKS file', async () => {
    const jwksFile = join(workDirectory, 'restart', 'jwks.json');
    const options = { tls: { certFile: tls.certFile, keyFile: tls.keyFile }, apiAudience, jwksFile };
    const first = await createDevIdentityProvider(options);
    const firstKids = first.signingKeyIds();
    await first.close();
    const second = await createDevIdentityProvider(options);
    try {
      assert.deepEqual(second.signingKeyIds(), firstKids);
      const published = (await (await fetch(`${second.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
      assert.deepEqual(published.keys.map((key) => key.kid), firstKids);
    } finally {
      await second.close();
    }
  });

  it('disables the admin endpoint without an admin key', async () => {
    const withoutAdmin = await createDevIdentityProvider({ tls: { certFile: tls.certFile, keyFile: tls.keyFile }, apiAudience });
    try {
      const response = await fetch(`${withoutAdmin.issuer}/dev/rotate-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}` },
      });
      assert.equal(response.status, 404);
    } finally {
      await withoutAdmin.close();
    }
  });
});

// Test-only helpers: a real in-process dev IdP over HTTPS and the device flow against it.
// Not exported from the library index (production code never imports @fedgate/dev-idp).
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';
import {
  approveDeviceLogin,
  createDevIdentityProvider,
  createThrowawayTls,
  deviceCodeGrantType,
  trustCertificateAuthorityForFetch,
  type DevIdentityProvider,
  type ThrowawayTls,
} from '@fedgate/dev-idp';

export const TEST_AUDIENCE = 'https://fedgate.test/api';
export const CONFIDENTIAL_CLIENT_ID = 'fedgate-confidential';
export const CONFIDENTIAL_CLIENT_SECRET = 'token-verification-test-secret-0123456789';

export interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

interface Discovery {
  device_authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
}

/** One dev IdP (with its JWKS file, so tests can sign with its real key). */
export interface IdpFixture {
  readonly idp: DevIdentityProvider;
  readonly issuer: string;
  readonly jwksFile: string;
  readonly discovery: Discovery;
  /** Device flow as alice (default) → the token response. */
  signIn(options?: { scope?: string; username?: string; password?: string }): Promise<Required<Pick<TokenResponse, 'access_token'>> & TokenResponse>;
  /** refresh_token grant (optionally narrowing the scope). */
  refresh(refreshToken: string, scope?: string): Promise<TokenResponse>;
  /** RFC 7009 revocation by the public client. */
  revoke(token: string, hint: 'access_token' | 'refresh_token'): Promise<number>;
  /** The IdP's current private signing key, read from its JWKS file. */
  privateSigningJwk(): Promise<JWK>;
  /** The published (public) JWKS. */
  publicJwks(): Promise<{ keys: JWK[] }>;
  close(): Promise<void>;
}

export interface TestTls {
  readonly tls: ThrowawayTls;
  readonly directory: string;
  dispose(): Promise<void>;
}

/**
 * A throwaway CA + server certificate, trusted by this process's global fetch. One per
 * test process: trusting a second CA would replace the first (the dispatcher is swapped).
 */
export async function createTestTls(): Promise<TestTls> {
  const directory = await mkdtemp(join(tmpdir(), 'token-verification-'));
  const tls = await createThrowawayTls(directory);
  const restore = await trustCertificateAuthorityForFetch(tls.caPem);
  return {
    tls,
    directory,
    dispose: async () => {
      await restore();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export async function startIdpFixture(
  testTls: TestTls,
  options: { name?: string; accessTokenTtlSeconds?: number; port?: number } = {},
): Promise<IdpFixture> {
  const jwksFile = join(testTls.directory, options.name ?? 'idp', 'jwks.json');
  const idp = await createDevIdentityProvider({
    tls: { certFile: testTls.tls.certFile, keyFile: testTls.tls.keyFile },
    apiAudience: TEST_AUDIENCE,
    jwksFile,
    confidentialClient: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: CONFIDENTIAL_CLIENT_SECRET },
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Discovery;
  const form = (params: Record<string, string>): RequestInit => ({ method: 'POST', body: new URLSearchParams(params) });

  return {
    idp,
    issuer: idp.issuer,
    jwksFile,
    discovery,
    async signIn({ scope = 'openid profile email offline_access api:read', username = 'alice', password = `${username}-password` } = {}) {
      const authorization = (await (
        await fetch(discovery.device_authorization_endpoint, form({ client_id: idp.clientId, scope }))
      ).json()) as { device_code: string; user_code: string };
      const outcome = await approveDeviceLogin({ issuer: idp.issuer, userCode: authorization.user_code, username, password });
      assert.equal(outcome.outcome, 'approved');
      const response = await fetch(
        discovery.token_endpoint,
        form({ client_id: idp.clientId, grant_type: deviceCodeGrantType, device_code: authorization.device_code }),
      );
      const body = (await response.json()) as TokenResponse;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.ok(body.access_token);
      return body as Required<Pick<TokenResponse, 'access_token'>> & TokenResponse;
    },
    async refresh(refreshToken, scope) {
      const params: Record<string, string> = { client_id: idp.clientId, grant_type: 'refresh_token', refresh_token: refreshToken };
      if (scope !== undefined) params['scope'] = scope;
      return (await (await fetch(discovery.token_endpoint, form(params))).json()) as TokenResponse;
    },
    async revoke(token, hint) {
      assert.ok(discovery.revocation_endpoint);
      const response = await fetch(discovery.revocation_endpoint, form({ client_id: idp.clientId, token, token_type_hint: hint }));
      await response.body?.cancel();
      return response.status;
    },
    async privateSigningJwk() {
      const file = JSON.parse(await readFile(jwksFile, 'utf8')) as { keys: JWK[] };
      const current = file.keys[0];
      assert.ok(current);
      return current;
    },
    async publicJwks() {
      return (await (await fetch(discovery.jwks_uri)).json()) as { keys: JWK[] };
    },
    close: () => idp.close(),
  };
}

/** fetch that records every request's path (tests count IdP requests with it). */
export interface CountingFetch {
  readonly fetch: typeof fetch;
  readonly paths: string[];
  count(path: string): number;
  total(): number;
}

export function countingFetch(): CountingFetch {
  const paths: string[] = [];
  return {
    paths,
    fetch: (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      paths.push(new URL(url).pathname);
      return fetch(input, init);
    },
    count: (path) => paths.filter((p) => p === path).length,
    total: () => paths.length,
  };
}

/** A key the test made itself, and RS256 tokens signed with it. */
export class AttackerKey {
  private readonly privateKey: KeyObject = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  sign(header: Record<string, unknown>, claims: Record<string, unknown>): string {
    const input = `${b64(header)}.${b64(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), this.privateKey).toString('base64url')}`;
  }

  /** A token that looks right (issuer, audience, times) under a random kid the IdP does not publish. */
  unknownKidToken(issuer: string): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign(
      { alg: 'RS256', typ: 'at+jwt', kid: `unknown-${randomBytes(9).toString('base64url')}` },
      { iss: issuer, aud: TEST_AUDIENCE, sub: 'mallory', iat: now, exp: now + 300 },
    );
  }
}

/** RS256 token signed with a private JWK (e.g. the IdP's real key from its JWKS file). */
export function signWithJwk(jwk: JWK, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: jwk.kid, ...header })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

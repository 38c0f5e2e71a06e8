import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { DependencyUnavailableError, OAuthError } from '@fedgate/contracts';

export interface IdentityProviderSettings {
  /** Issuer URL; endpoints are found through its OIDC discovery document. */
  issuer: string;
  clientId: string;
  /** Confidential client (client_secret_basic) when set, public client otherwise. */
  clientSecret?: string;
  /** Scopes asked for when the caller names none; offline_access brings a refresh token. */
  defaultScope: string;
  /** Extra parameters some IdPs need on the device authorization (e.g. Auth0's `audience`). */
  extraAuthorizationParameters?: Record<string, string>;
  /** Per-request timeout: an IdP that does not answer fails the call, it never hangs it. */
  timeoutMs: number;
  /**
   * The `aud` the token-service requires of access tokens. A JWT access token without it is
   * refused when issued (IdpConfigurationError), so a realm without an audience mapper fails
   * the login with the fix named, not every later verification.
   */
  audience?: string;
}

export interface IdpDeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

export interface IdpTokens {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  /** Claims of the validated ID token, or of UserInfo when the IdP sent no ID token. */
  claims: Record<string, unknown> & { sub: string };
  /**
   * The IdP's session id: the ID token's `sid` (OIDC Back-Channel Logout), else the `sid`
   * claim of a JWT access token (read, not verified: it came straight from the IdP's token
   * endpoint over TLS). Absent when the IdP names no session.
   */
  sid?: string;
}

/** The IdP refused a grant with an OAuth error code (authorization_pending, access_denied, ...). */
export class IdpGrantError extends Error {
  constructor(readonly error: string, readonly description?: string) {
    super(description ?? error);
  }

  /** The IdP's code with its own reason, for the person (Keycloak's "Offline tokens not allowed ..."). */
  get explanation(): string {
    return this.description ? `${this.error}: ${this.description}` : this.error;
  }
}

/** The IdP issued tokens Fedgate cannot use: its client for Fedgate is set up wrongly (the message says how). */
export class IdpConfigurationError extends Error {}

/**
 * Fedgate's OAuth client of the upstream IdP, standards only (RFC 8414/OIDC discovery,
 * RFC 8628, RFC 6749 refresh, RFC 7009 revocation) through oauth4webapi: nothing here is
 * specific to one IdP. Unreachable or broken IdP answers become `idp_unavailable`.
 */
export class IdentityProviderClient {
  private server: Promise<oauth.AuthorizationServer> | null = null;
  private readonly client: oauth.Client;
  private readonly clientAuth: oauth.ClientAuth;

  constructor(private readonly settings: IdentityProviderSettings) {
    this.client = { client_id: settings.clientId };
    this.clientAuth = settings.clientSecret ? oauth.ClientSecretBasic(settings.clientSecret) : oauth.None();
  }

  get issuer(): string {
    return this.settings.issuer;
  }

  async startDeviceAuthorization(scope: string | undefined): Promise<IdpDeviceAuthorization & { scope: string }> {
    const as = await this.discover();
    const requested = scope ?? this.settings.defaultScope;
    const response = await this.call(() =>
      oauth.deviceAuthorizationRequest(as, this.client, this.clientAuth, { scope: requested, ...this.settings.extraAuthorizationParameters }, this.options()),
    );
    const result = await this.process(() => oauth.processDeviceAuthorizationResponse(as, this.client, response));
    return { ...result, scope: requested };
  }

  /** One poll of the IdP's token endpoint for a device code (never loops). */
  async pollDeviceCode(deviceCode: string): Promise<IdpTokens> {
    const as = await this.discover();
    const response = await this.call(() => oauth.deviceCodeGrantRequest(as, this.client, this.clientAuth, deviceCode, this.options()));
    const result = await this.process(() => oauth.processDeviceCodeResponse(as, this.client, response));
    return this.withClaims(as, result);
  }

  async refresh(refreshToken: string): Promise<IdpTokens> {
    const as = await this.discover();
    const response = await this.call(() => oauth.refreshTokenGrantRequest(as, this.client, this.clientAuth, refreshToken, this.options()));
    const result = await this.process(() => oauth.processRefreshTokenResponse(as, this.client, response));
    return this.withClaims(as, result);
  }

  /** RFC 7009 revocation, when the IdP offers it; answers whether it was done. */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const as = await this.discover();
    if (!as.revocation_endpoint) return false;
    const response = await this.call(() =>
      oauth.revocationRequest(as, this.client, this.clientAuth, token, { ...this.options(), additionalParameters: { token_type_hint: hint } }),
    );
    try {
      await oauth.processRevocationResponse(response);
      return true;
    } catch {
      // e.g. unsupported_token_type for JWT access tokens: the session is still revoked in Fedgate
      return false;
    }
  }

  private async withClaims(as: oauth.AuthorizationServer, result: oauth.TokenEndpointResponse): Promise<IdpTokens> {
    let claims = oauth.getValidatedIdTokenClaims(result) as (Record<string, unknown> & { sub: string }) | undefined;
    if (!claims) {
      // no ID token (scope without openid): the account comes from UserInfo
      const response = await this.call(() => oauth.userInfoRequest(as, this.client, result.access_token, this.options()));
      claims = (await this.process(() => oauth.processUserInfoResponse(as, this.client, oauth.skipSubjectCheck, response))) as Record<string, unknown> & { sub: string };
    }
    this.requireAudience(result.access_token);
    const sid = sidOf(claims) ?? sidOf(jwtPayloadOf(result.access_token));
    return { access_token: result.access_token, refresh_token: result.refresh_token, expires_in: result.expires_in, scope: result.scope, claims, ...(sid ? { sid } : {}) };
  }

  /** A JWT access token must name the audience the token-service requires (opaque tokens are introspected instead). */
  private requireAudience(accessToken: string): void {
    const expected = this.settings.audience;
    if (!expected || accessToken.split('.').length !== 3) return;
    let aud: unknown;
    try {
      // read, not verified: the token came straight from the IdP's token endpoint over TLS
      aud = decodeJwt(accessToken).aud;
    } catch {
      return;
    }
    const audiences = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
    if (audiences.includes(expected)) return;
    throw new IdpConfigurationError(
      `The identity provider's access token is not meant for Fedgate: its audience (${audiences.length ? audiences.join(', ') : 'none'}) lacks "${expected}", so every use of it would be refused. ` +
        `The IdP client "${this.settings.clientId}" needs an audience mapper that adds "${expected}" to access tokens (Keycloak: a client scope or client mapper of type Audience; see "Use your own identity provider" in Fedgate's README).`,
    );
  }

  private discover(): Promise<oauth.AuthorizationServer> {
    this.server ??= (async () => {
      const issuer = new URL(this.settings.issuer);
      const response = await this.call(() => oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...this.options() }));
      return this.process(() => oauth.processDiscoveryResponse(issuer, response));
    })();
    // a failed discovery is retried on the next call, not cached
    this.server.catch(() => (this.server = null));
    return this.server;
  }

  private options() {
    return { signal: AbortSignal.timeout(this.settings.timeoutMs) };
  }

  private async call(request: () => Promise<Response>): Promise<Response> {
    try {
      return await request();
    } catch (err) {
      throw new DependencyUnavailableError('idp_unavailable', 'idp', `the identity provider did not answer: ${describe(err)}`);
    }
  }

  private async process<T>(handle: () => Promise<T>): Promise<T> {
    try {
      return await handle();
    } catch (err) {
      if (err instanceof oauth.ResponseBodyError) {
        if (err.status >= 500) throw new DependencyUnavailableError('idp_unavailable', 'idp', `the identity provider failed (${err.status} ${err.error})`);
        throw new IdpGrantError(err.error, err.error_description);
      }
      if (err instanceof OAuthError) throw err;
      throw new DependencyUnavailableError('idp_unavailable', 'idp', `the identity provider answered something unexpected: ${describe(err)}`);
    }
  }
}

function sidOf(claims: Record<string, unknown> | undefined): string | undefined {
  const sid = claims?.['sid'];
  return typeof sid === 'string' && sid.length > 0 && sid.length <= 256 ? sid : undefined;
}

/** The payload of a JWT, or undefined for an opaque token. */
function jwtPayloadOf(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.name === 'TimeoutError' ? 'timed out' : err.message;
  return String(err);
}

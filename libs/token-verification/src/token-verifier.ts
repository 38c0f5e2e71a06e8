import {
  createRemoteJWKSet,
  customFetch as joseCustomFetch,
  errors as joseErrors,
  jwtVerify,
  type CryptoKey,
  type FetchImplementation,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import * as oauth from 'oauth4webapi';
import { DependencyUnavailableError, TOKEN_MAX_CHARS, TokenVerificationError, accountFromClaims, type Account } from '@fedgate/contracts';
import {
  ASYMMETRIC_JWS_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  inspectToken,
  type AsymmetricJwsAlgorithm,
  type InspectedToken,
  type TokenShapeRules,
} from './token-shape';
import { TokenRejectedError, type UnverifiedTokenFacts, type VerifiedToken } from './verified-token';

export interface IntrospectionSettings {
  /** OAuth client that authenticates at the introspection endpoint. */
  readonly clientId: string;
  /**
   * Its secret (client_secret_basic). Required: IdPs (Keycloak among them) refuse public
   * clients at the introspection endpoint, which would make every opaque token a failed call.
   */
  readonly clientSecret: string;
  /**
   * Accept only answers whose `token_type` is `Bearer` (default true). Some IdPs
   * (oidc-provider among them) answer `active: true` for a REFRESH token sent to the
   * introspection endpoint and mark it only by omitting `token_type`; this check stops
   * a refresh token from being accepted as an access token. Turn it off only for an
   * IdP that omits `token_type` for access tokens too.
   */
  readonly requireBearerTokenType?: boolean;
}

export interface TokenVerifierOptions {
  /** The IdP's issuer identifier, exactly as it appears in `iss` (discovery: `<issuer>/.well-known/openid-configuration`). */
  readonly issuer: string;
  /** Expected audience(s): a token must name at least one in `aud`. */
  readonly audience: string | readonly string[];
  /** Accepted JWS algorithms, asymmetric only; default RS256..RS512, PS256..PS512, ES256, ES384, EdDSA. */
  readonly algorithms?: readonly AsymmetricJwsAlgorithm[];
  /** Allowed clock skew for exp / nbf / iat, seconds; default 30. */
  readonly clockToleranceSeconds?: number;
  /** Longer tokens are refused before any parsing; default 16384 (TOKEN_MAX_CHARS). */
  readonly maxTokenChars?: number;
  /** Minimum time between two JWKS refetches caused by an unknown kid; default 30000 ms. */
  readonly jwksCooldownMs?: number;
  /** The JWKS is refetched before use when older than this; default 600000 ms (10 min). */
  readonly jwksCacheMaxAgeMs?: number;
  /** Timeout of every request to the IdP (discovery, JWKS, introspection); default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Enables RFC 7662 introspection of opaque (non-JWT) tokens, if the IdP advertises an endpoint. */
  readonly introspection?: IntrospectionSettings;
  /** fetch used for every IdP request (tests count requests with it); default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Clock, epoch milliseconds; default Date.now. */
  readonly now?: () => number;
}

/** A TokenVerifier as CachingTokenVerifier needs it. */
export interface TokenVerifierLike {
  readonly maxTokenChars: number;
  verify(token: string): Promise<VerifiedToken>;
  /** false when the JWKS fetched last no longer has this kid (cached results signed with it must go). */
  isKeyPublished?(kid: string): boolean;
}

/** Thrown inside the key resolver when the JWKS cannot be fetched; mapped to idp_unavailable. */
class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super('JWKS unavailable', { cause });
  }
}

const MAX_CANDIDATE_KEYS = 8;

/**
 * Verifies bearer access tokens issued by one OIDC identity provider:
 * JWTs (JWS compact) with jose against the IdP's JWKS found by discovery, opaque
 * tokens by RFC 7662 introspection. Answers the account, scope and expiry, or throws
 * TokenRejectedError (invalid_token | expired_token) / DependencyUnavailableError
 * (idp_unavailable) — it never answers "valid" when it could not check.
 */
export class TokenVerifier implements TokenVerifierLike {
  readonly issuer: string;
  readonly maxTokenChars: number;
  private readonly audiences: string[];
  private readonly algorithms: AsymmetricJwsAlgorithm[];
  private readonly clockToleranceSeconds: number;
  private readonly jwksCooldownMs: number;
  private readonly jwksCacheMaxAgeMs: number;
  private readonly requestTimeoutMs: number;
  private readonly introspection:
    | { readonly clientId: string; readonly clientSecret: string; readonly requireBearerTokenType: boolean }
    | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly shapeRules: TokenShapeRules;

  private discovery: Promise<oauth.AuthorizationServer> | undefined;
  private remoteKeySet: ReturnType<typeof createRemoteJWKSet> | undefined;
  private keyResolver: JWTVerifyGetKey | undefined;
  private publishedKids: ReadonlySet<string> | undefined;

  constructor(options: TokenVerifierOptions) {
    this.issuer = requireIssuer(options.issuer);
    this.audiences = (typeof options.audience === 'string' ? [options.audience] : [...options.audience]).filter((a) => a !== '');
    if (this.audiences.length === 0) throw new TypeError('TokenVerifier: audience is required');
    this.algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
    if (this.algorithms.length === 0) throw new TypeError('TokenVerifier: algorithms must not be empty');
    for (const alg of this.algorithms) {
      if (!(ASYMMETRIC_JWS_ALGORITHMS as readonly string[]).includes(alg)) {
        throw new TypeError(`TokenVerifier: algorithm ${JSON.stringify(alg)} is not an accepted asymmetric JWS algorithm`);
      }
    }
    this.clockToleranceSeconds = nonNegative('clockToleranceSeconds', options.clockToleranceSeconds, 30);
    this.maxTokenChars = positiveInteger('maxTokenChars', options.maxTokenChars, TOKEN_MAX_CHARS);
    this.jwksCooldownMs = nonNegative('jwksCooldownMs', options.jwksCooldownMs, 30_000);
    this.jwksCacheMaxAgeMs = nonNegative('jwksCacheMaxAgeMs', options.jwksCacheMaxAgeMs, 600_000);
    this.requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 5_000);
    if (options.introspection !== undefined && !options.introspection.clientId) {
      throw new TypeError('TokenVerifier: introspection.clientId is required');
    }
    if (options.introspection !== undefined && !options.introspection.clientSecret) {
      throw new TypeError('TokenVerifier: introspection needs a confidential client (introspection.clientSecret)');
    }
    this.introspection =
      options.introspection === undefined
        ? undefined
        : {
            clientId: options.introspection.clientId,
            clientSecret: options.introspection.clientSecret,
            requireBearerTokenType: options.introspection.requireBearerTokenType ?? true,
          };
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.shapeRules = { maxTokenChars: this.maxTokenChars, algorithms: this.algorithms };
  }

  /**
   * Verifies one access token.
   * @throws TokenRejectedError invalid_token | expired_token (with unverified kid/iss/sub for audit)
   * @throws DependencyUnavailableError idp_unavailable when the IdP cannot be asked
   */
  async verify(token: string): Promise<VerifiedToken> {
    const inspected = inspectToken(token, this.shapeRules);
    return inspected.kind === 'jwt' ? this.verifyJwt(token, inspected) : this.verifyOpaque(token, inspected.facts);
  }

  /** Discovery and a JWKS fetch ahead of the first token (e.g. at start or for readiness). */
  async warmUp(): Promise<void> {
    const keySet = await this.keySet();
    try {
      await keySet.reload();
    } catch (error: unknown) {
      throw idpUnavailable("the identity provider's key set (JWKS) could not be fetched", error);
    }
  }

  isKeyPublished(kid: string): boolean {
    return this.publishedKids?.has(kid) ?? false;
  }

  // ---- JWT ---------------------------------------------------------------------------

  private async verifyJwt(token: string, inspected: Extract<InspectedToken, { kind: 'jwt' }>): Promise<VerifiedToken> {
    const { claims, facts } = inspected;
    // Before any key lookup: a token of another issuer must not make us refetch our JWKS.
    if (claims.iss !== this.issuer) throw invalid('The token was issued by another issuer ("iss" claim does not match).', facts);
    const resolver = await this.keyResolverOrFail();
    const options: JWTVerifyOptions = {
      issuer: this.issuer,
      audience: this.audiences,
      algorithms: this.algorithms,
      clockTolerance: this.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(this.now()),
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, resolver, options));
    } catch (error: unknown) {
      if (!(error instanceof joseErrors.JWKSMultipleMatchingKeys)) throw this.mapJoseError(error, facts, inspected.header);
      payload = await this.verifyWithCandidateKeys(token, error, options, facts);
    }

    const nowSeconds = Math.floor(this.now() / 1000);
    if (typeof payload.iat === 'number' && payload.iat > nowSeconds + this.clockToleranceSeconds) {
      throw invalid('The token claims to be issued in the future ("iat" claim).', facts);
    }
    const account = this.accountOf(payload, facts);
    const scope = scopeOf(payload);
    const clientId = typeof payload['client_id'] === 'string' ? payload['client_id'] : typeof payload['azp'] === 'string' ? payload['azp'] : undefined;
    return {
      account,
      scope,
      expires_at: Math.floor(payload.exp as number),
      method: 'jwt',
      ...(facts.kid === undefined ? {} : { kid: facts.kid }),
      iss: this.issuer,
      sub: account.flwr_aid,
      ...(clientId === undefined ? {} : { client_id: clientId }),
      ...sessionIdOf(payload),
    };
  }

  /** A kid-less token and several published keys of its type: try each (bounded). */
  private async verifyWithCandidateKeys(
    token: string,
    multiple: InstanceType<typeof joseErrors.JWKSMultipleMatchingKeys>,
    options: JWTVerifyOptions,
    facts: UnverifiedTokenFacts,
  ): Promise<JWTPayload> {
    let tried = 0;
    for await (const key of multiple as unknown as AsyncIterable<CryptoKey>) {
      if (++tried > MAX_CANDIDATE_KEYS) break;
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (error: unknown) {
        if (error instanceof joseErrors.JWSSignatureVerificationFailed) continue;
        throw this.mapJoseError(error, facts);
      }
    }
    throw invalid("The token's signature does not verify with any of the identity provider's keys.", facts);
  }

  private mapJoseError(error: unknown, facts: UnverifiedTokenFacts, options?: { alg?: unknown }): Error {
    if (error instanceof KeySetUnavailable) {
      return idpUnavailable("the identity provider's key set (JWKS) could not be fetched", error.cause);
    }
    if (error instanceof joseErrors.JWTExpired) return new TokenRejectedError('expired_token', 'The token has expired ("exp" claim).', facts, error);
    if (error instanceof joseErrors.JWTClaimValidationFailed) return invalid(claimDescription(error.claim, error.reason), facts, error);
    if (error instanceof joseErrors.JWKSNoMatchingKey) {
      const kid = facts.kid === undefined ? 'no kid' : `kid "${facts.kid}"`;
      const alg = typeof options?.alg === 'string' ? `, ${options.alg}` : '';
      return invalid(`The token was signed with a key the identity provider does not publish (${kid}${alg}).`, facts, error);
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) return invalid("The token's signature is invalid.", facts, error);
    if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
      return invalid("The token's algorithm is not accepted.", facts, error);
    }
    if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) {
      return invalid(`The token is not a valid JWT: ${error.message}.`, facts, error);
    }
    // Anything else (unexpected key material, a bug): fail closed, never valid.
    return invalid('The token could not be verified.', facts, error);
  }

  private accountOf(claims: Record<string, unknown>, facts: UnverifiedTokenFacts): Account {
    try {
      return accountFromClaims(claims as Parameters<typeof accountFromClaims>[0]);
    } catch (error: unknown) {
      if (error instanceof TokenVerificationError) throw invalid(error.description, facts, error);
      throw error;
    }
  }

  private async keyResolverOrFail(): Promise<JWTVerifyGetKey> {
    if (this.keyResolver) return this.keyResolver;
    const remote = await this.keySet();
    this.keyResolver = async (header, flattened) => {
      try {
        return await remote(header, flattened);
      } catch (error: unknown) {
        // "no such key" (and friends) are answers about the token; everything else — fetch
        // failures, timeouts, non-200, a malformed JWKS — means the IdP could not be asked.
        if (
          error instanceof joseErrors.JWKSNoMatchingKey ||
          error instanceof joseErrors.JWKSMultipleMatchingKeys ||
          error instanceof joseErrors.JOSENotSupported
        ) {
          throw error;
        }
        throw new KeySetUnavailable(error);
      }
    };
    return this.keyResolver;
  }

  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.remoteKeySet) return this.remoteKeySet;
    const server = await this.discover();
    if (typeof server.jwks_uri !== 'string') {
      throw new DependencyUnavailableError('idp_unavailable', 'idp', 'the identity provider publishes no jwks_uri in its discovery document');
    }
    this.remoteKeySet ??= createRemoteJWKSet(new URL(server.jwks_uri), {
      cooldownDuration: this.jwksCooldownMs,
      cacheMaxAge: this.jwksCacheMaxAgeMs,
      timeoutDuration: this.requestTimeoutMs,
      [joseCustomFetch]: this.jwksFetch,
    });
    return this.remoteKeySet;
  }

  /** jose's JWKS fetch, counted, remembering which kids the IdP publishes. */
  private readonly jwksFetch: FetchImplementation = async (url, init) => {
    const response = await this.fetchImpl(url, init);
    if (response.status !== 200) return response;
    const text = await response.text();
    try {
      const parsed = JSON.parse(text) as { keys?: unknown };
      if (Array.isArray(parsed.keys)) {
        this.publishedKids = new Set(
          parsed.keys.flatMap((key: unknown) => {
            const kid = (key as { kid?: unknown } | null)?.kid;
            return typeof kid === 'string' ? [kid] : [];
          }),
        );
      }
    } catch {
      // jose reports the malformed body itself
    }
    return new Response(text, { status: 200, headers: { 'content-type': response.headers.get('content-type') ?? 'application/json' } });
  };

  // ---- discovery -------------------------------------------------------------------

  private discover(): Promise<oauth.AuthorizationServer> {
    if (this.discovery) return this.discovery;
    const pending = (async () => {
      const issuerUrl = new URL(this.issuer);
      let response: Response;
      try {
        response = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oidc', ...this.oauthRequestOptions() });
      } catch (error: unknown) {
        throw idpUnavailable('the identity provider did not answer its discovery request', error);
      }
      try {
        return await oauth.processDiscoveryResponse(issuerUrl, response);
      } catch (error: unknown) {
        throw idpUnavailable('the identity provider answered its discovery request with an unusable document', error);
      }
    })();
    this.discovery = pending;
    // A failed discovery is retried by the next call, never cached.
    pending.catch(() => {
      if (this.discovery === pending) this.discovery = undefined;
    });
    return pending;
  }

  /** Per-request timeout and the injectable fetch, for oauth4webapi calls (GET discovery, POST introspection). */
  private oauthRequestOptions<Method, Body>(): oauth.HttpRequestOptions<Method, Body> {
    return {
      signal: AbortSignal.timeout(this.requestTimeoutMs),
      [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<Method, Body>) => this.fetchImpl(url, init as unknown as RequestInit),
    };
  }

  // ---- opaque tokens: RFC 7662 introspection ----------------------------------------

  private async verifyOpaque(token: string, facts: UnverifiedTokenFacts): Promise<VerifiedToken> {
    const settings = this.introspection;
    if (settings === undefined) {
      throw invalid('The token is not a JWT, and introspection of opaque tokens is not configured.', facts);
    }
    const server = await this.discover();
    if (typeof server.introspection_endpoint !== 'string') {
      throw invalid('The token is not a JWT, and the identity provider offers no introspection endpoint.', facts);
    }
    const client: oauth.Client = { client_id: settings.clientId };
    const clientAuth = oauth.ClientSecretBasic(settings.clientSecret);
    let response: Response;
    try {
      response = await oauth.introspectionRequest(server, client, clientAuth, token, {
        additionalParameters: { token_type_hint: 'access_token' },
        ...this.oauthRequestOptions(),
      });
    } catch (error: unknown) {
      throw idpUnavailable('the identity provider did not answer the introspection request', error);
    }
    let answer: oauth.IntrospectionResponse;
    try {
      answer = await oauth.processIntrospectionResponse(server, client, response);
    } catch (error: unknown) {
      // The IdP answered, and not with "active": the token is refused (401), never 503, whatever
      // the reason — a refused client (wrong secret) is a configuration fault the log names
      const status = error instanceof oauth.ResponseBodyError ? error.status : response.status;
      if (status >= 400 && status < 500) {
        const reason = error instanceof oauth.ResponseBodyError ? `${status} ${error.error}` : `HTTP ${status}`;
        const clientRefused = status === 401 || status === 403 || (error instanceof oauth.ResponseBodyError && error.error === 'invalid_client');
        throw invalid(
          clientRefused
            ? `The token is not a JWT and could not be introspected: the identity provider refused Fedgate's introspection client (${reason}; check FEDGATE_OIDC_CLIENT_ID and FEDGATE_OIDC_CLIENT_SECRET).`
            : `The identity provider refused to introspect the token (${reason}).`,
          facts,
          error,
        );
      }
      throw idpUnavailable('the identity provider answered the introspection request with an error', error);
    }
    return this.acceptIntrospection(answer, settings.requireBearerTokenType, facts);
  }

  private acceptIntrospection(answer: oauth.IntrospectionResponse, requireBearer: boolean, baseFacts: UnverifiedTokenFacts): VerifiedToken {
    if (answer.active !== true) {
      throw invalid('The identity provider reports the token as not active (unknown, expired or revoked).', baseFacts);
    }
    const facts: UnverifiedTokenFacts = {
      ...baseFacts,
      ...(typeof answer.iss === 'string' ? { iss: answer.iss } : {}),
      ...(typeof answer.sub === 'string' ? { sub: answer.sub } : {}),
    };
    const tokenType = answer.token_type;
    if (requireBearer && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
      throw invalid(
        `The identity provider does not describe the token as a bearer access token (token_type ${JSON.stringify(tokenType ?? null)}).`,
        facts,
      );
    }
    if (answer.iss !== undefined && answer.iss !== this.issuer) throw invalid('The token was issued by another issuer ("iss").', facts);
    if (answer.aud !== undefined) {
      const audiences = Array.isArray(answer.aud) ? answer.aud : [answer.aud];
      if (!audiences.some((aud) => this.audiences.includes(aud))) {
        throw invalid('The token is not meant for this service ("aud" does not match).', facts);
      }
    }
    const nowSeconds = Math.floor(this.now() / 1000);
    if (typeof answer.exp !== 'number') throw invalid('The identity provider gives the token no expiry ("exp").', facts);
    if (answer.exp <= nowSeconds - this.clockToleranceSeconds) {
      throw new TokenRejectedError('expired_token', 'The token has expired ("exp").', facts);
    }
    if (typeof answer.nbf === 'number' && answer.nbf > nowSeconds + this.clockToleranceSeconds) {
      throw invalid('The token is not valid yet ("nbf").', facts);
    }
    if (typeof answer.sub !== 'string') throw invalid('The identity provider names no subject ("sub") for the token.', facts);
    const account = this.accountOf(
      {
        sub: answer.sub,
        preferred_username: answer['preferred_username'] ?? answer.username,
        name: answer['name'],
        email: answer['email'],
      },
      facts,
    );
    return {
      account,
      scope: typeof answer.scope === 'string' ? answer.scope : '',
      expires_at: Math.floor(answer.exp),
      method: 'introspection',
      ...(typeof answer.iss === 'string' ? { iss: answer.iss } : {}),
      sub: answer.sub,
      ...(typeof answer.client_id === 'string' ? { client_id: answer.client_id } : {}),
      ...sessionIdOf(answer as Record<string, unknown>),
    };
  }
}

function invalid(description: string, facts: UnverifiedTokenFacts, cause?: unknown): TokenRejectedError {
  return new TokenRejectedError('invalid_token', description, facts, cause);
}

function idpUnavailable(what: string, cause: unknown): DependencyUnavailableError {
  if (cause instanceof DependencyUnavailableError) return cause;
  return new DependencyUnavailableError('idp_unavailable', 'idp', `${what}: ${describeCause(cause)}`, { cause });
}

function describeCause(cause: unknown): string {
  if (cause instanceof oauth.ResponseBodyError) return `HTTP ${cause.status} ${cause.error}`;
  if (cause instanceof joseErrors.JWKSTimeout) return 'timed out';
  if (cause instanceof Error) {
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError') return 'timed out';
    const code = (cause.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}

function claimDescription(claim: string, reason: string): string {
  if (reason === 'missing') return `The token has no "${claim}" claim.`;
  switch (claim) {
    case 'iss':
      return 'The token was issued by another issuer ("iss" claim does not match).';
    case 'aud':
      return 'The token is not meant for this service ("aud" claim does not match).';
    case 'nbf':
      return 'The token is not valid yet ("nbf" claim is in the future).';
    case 'iat':
      return 'The token\'s "iat" claim is invalid.';
    default:
      return `The token's "${claim}" claim is invalid.`;
  }
}

function scopeOf(payload: JWTPayload): string {
  if (typeof payload['scope'] === 'string') return payload['scope'];
  const scp = payload['scp'];
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string').join(' ');
  if (typeof scp === 'string') return scp;
  return '';
}

function requireIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new TypeError(`TokenVerifier: issuer ${JSON.stringify(issuer)} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new TypeError(`TokenVerifier: issuer ${JSON.stringify(issuer)} must be https`);
  return issuer;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`TokenVerifier: ${name} must be a non-negative number`);
  return value;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`TokenVerifier: ${name} must be a positive integer`);
  return value;
}

/** The IdP's session id (`sid`, OIDC Front-/Back-Channel Logout), when the token names one. */
function sessionIdOf(claims: Record<string, unknown>): { sid?: string } {
  const sid = claims['sid'];
  return typeof sid === 'string' && sid.length > 0 && sid.length <= 256 ? { sid } : {};
}

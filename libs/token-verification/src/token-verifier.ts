import { errors as joseErrors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { TOKEN_MAX_CHARS } from '@fedgate/contracts';
import { IdpDiscovery, idpUnavailable } from './idp-discovery';
import { JwksKeySet, KeySetUnavailable } from './jwks-key-set';
import { accountOf, claimDescription, invalid, scopeOf, sessionIdOf } from './token-claims';
import { TokenIntrospection } from './token-introspection';
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
  private readonly now: () => number;
  private readonly shapeRules: TokenShapeRules;
  private readonly keys: JwksKeySet;
  private readonly introspection: TokenIntrospection;

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
    const requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 5_000);
    if (options.introspection !== undefined && !options.introspection.clientId) {
      throw new TypeError('TokenVerifier: introspection.clientId is required');
    }
    if (options.introspection !== undefined && !options.introspection.clientSecret) {
      throw new TypeError('TokenVerifier: introspection needs a confidential client (introspection.clientSecret)');
    }
    const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.shapeRules = { maxTokenChars: this.maxTokenChars, algorithms: this.algorithms };
    const discovery = new IdpDiscovery(this.issuer, fetchImpl, requestTimeoutMs);
    this.keys = new JwksKeySet(discovery, {
      cooldownMs: nonNegative('jwksCooldownMs', options.jwksCooldownMs, 30_000),
      cacheMaxAgeMs: nonNegative('jwksCacheMaxAgeMs', options.jwksCacheMaxAgeMs, 600_000),
      requestTimeoutMs,
      fetch: fetchImpl,
    });
    const introspection = options.introspection;
    this.introspection = new TokenIntrospection(
      discovery,
      introspection && { clientId: introspection.clientId, clientSecret: introspection.clientSecret, requireBearerTokenType: introspection.requireBearerTokenType ?? true },
      { issuer: this.issuer, audiences: this.audiences, clockToleranceSeconds: this.clockToleranceSeconds, now: this.now },
    );
  }

  /**
   * Verifies one access token.
   * @throws TokenRejectedError invalid_token | expired_token (with unverified kid/iss/sub for audit)
   * @throws DependencyUnavailableError idp_unavailable when the IdP cannot be asked
   */
  async verify(token: string): Promise<VerifiedToken> {
    const inspected = inspectToken(token, this.shapeRules);
    return inspected.kind === 'jwt' ? this.verifyJwt(token, inspected) : this.introspection.verify(token, inspected.facts);
  }

  /** Discovery and a JWKS fetch ahead of the first token (e.g. at start or for readiness). */
  warmUp(): Promise<void> {
    return this.keys.reload();
  }

  isKeyPublished(kid: string): boolean {
    return this.keys.isKeyPublished(kid);
  }

  // ---- JWT ---------------------------------------------------------------------------

  private async verifyJwt(token: string, inspected: Extract<InspectedToken, { kind: 'jwt' }>): Promise<VerifiedToken> {
    const { claims, facts } = inspected;
    // Before any key lookup: a token of another issuer must not make us refetch our JWKS.
    if (claims.iss !== this.issuer) throw invalid('The token was issued by another issuer ("iss" claim does not match).', facts);
    const resolver = await this.keys.resolver();
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
    const account = accountOf(payload, facts);
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


import { createRemoteJWKSet, customFetch as joseCustomFetch, errors as joseErrors, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import { DependencyUnavailableError } from '@fedgate/contracts';
import { idpUnavailable, type IdpDiscovery } from './idp-discovery';

/** Thrown inside the key resolver when the JWKS cannot be fetched; mapped to idp_unavailable. */
export class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super('JWKS unavailable', { cause });
  }
}

export interface JwksKeySetOptions {
  readonly cooldownMs: number;
  readonly cacheMaxAgeMs: number;
  readonly requestTimeoutMs: number;
  readonly fetch: typeof fetch;
}

/**
 * The IdP's signing keys (its JWKS, found by discovery) through jose's remote key set, with
 * a refetch cooldown for unknown kids; remembers which kids the IdP publishes.
 */
export class JwksKeySet {
  private remoteKeySet: ReturnType<typeof createRemoteJWKSet> | undefined;
  private keyResolver: JWTVerifyGetKey | undefined;
  private publishedKids: ReadonlySet<string> | undefined;

  constructor(
    private readonly discovery: IdpDiscovery,
    private readonly options: JwksKeySetOptions,
  ) {}

  /** Fetches the JWKS now (discovery first when needed). */
  async reload(): Promise<void> {
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

  /** jose's key resolver; a JWKS that cannot be fetched throws KeySetUnavailable. */
  async resolver(): Promise<JWTVerifyGetKey> {
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
    const server = await this.discovery.discover();
    if (typeof server.jwks_uri !== 'string') {
      throw new DependencyUnavailableError('idp_unavailable', 'idp', 'the identity provider publishes no jwks_uri in its discovery document');
    }
    this.remoteKeySet ??= createRemoteJWKSet(new URL(server.jwks_uri), {
      cooldownDuration: this.options.cooldownMs,
      cacheMaxAge: this.options.cacheMaxAgeMs,
      timeoutDuration: this.options.requestTimeoutMs,
      [joseCustomFetch]: this.jwksFetch,
    });
    return this.remoteKeySet;
  }

  /** jose's JWKS fetch, remembering which kids the IdP publishes. */
  private readonly jwksFetch: FetchImplementation = async (url, init) => {
    const response = await this.options.fetch(url, init);
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
}

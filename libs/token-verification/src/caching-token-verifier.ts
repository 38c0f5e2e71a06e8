import { sha256Hex } from '@fedgate/contracts';
import { assertTokenSize, readUnverifiedFacts } from './token-shape';
import type { TokenVerifierLike } from './token-verifier';
import type { SessionRevocations } from './session-revocations';
import { VerifiedTokenCache } from './verified-token-cache';
import { TokenRejectedError, type VerifiedToken } from './verified-token';

export interface CachingTokenVerifierOptions {
  /** Does the real verification on a cache miss (a TokenVerifier). */
  readonly verifier: TokenVerifierLike;
  /** Default: a new VerifiedTokenCache with its defaults. */
  readonly cache?: VerifiedTokenCache;
  /**
   * Introspection answers are cached at most this long (default 60 s), so a token the IdP
   * revokes stops working soon even without a session-revoked event. JWTs are cached until exp.
   */
  readonly introspectionCacheSeconds?: number;
  /**
   * The durable list of revoked sessions: every answer, cached or not, first checks the token's
   * session (Fedgate's login session, looked up once per token, and the IdP's `sid` claim).
   * Without it only hash revocations (`revoke`) apply: for tests and tools, never a service.
   */
  readonly revocations?: SessionRevocations;
}

/** A verification answer, saying whether it came from the cache. */
export interface CachedVerification extends VerifiedToken {
  readonly cached: boolean;
  /** sha256Hex of the token: the form in which a token may be logged or audited. */
  readonly token_hash: string;
  /** Fedgate's login session the token was issued in, when it went through the login-service. */
  readonly session_id?: string;
}

/** A verified token and the login session it belongs to, as cached. */
type SessionVerifiedToken = VerifiedToken & { readonly session_id?: string };

/**
 * TokenVerifier + VerifiedTokenCache: revoked → revoked_token; cached → the cached
 * answer (no crypto, no network); otherwise the verifier, whose answer is cached.
 * Concurrent verifications of the same token share one verifier call.
 */
export class CachingTokenVerifier {
  readonly cache: VerifiedTokenCache;
  private readonly verifier: TokenVerifierLike;
  private readonly introspectionCacheSeconds: number;
  private readonly revocations: SessionRevocations | undefined;
  private readonly inFlight = new Map<string, Promise<SessionVerifiedToken>>();

  constructor(options: CachingTokenVerifierOptions) {
    this.verifier = options.verifier;
    this.cache = options.cache ?? new VerifiedTokenCache();
    this.introspectionCacheSeconds = options.introspectionCacheSeconds ?? 60;
    this.revocations = options.revocations;
  }

  /**
   * @throws TokenRejectedError invalid_token | expired_token | revoked_token
   * @throws DependencyUnavailableError idp_unavailable; revocation_unavailable (the revoked sessions are not known complete)
   */
  async verify(token: string): Promise<CachedVerification> {
    // Size first: a huge token is neither hashed nor parsed.
    assertTokenSize(token, this.verifier.maxTokenChars);
    const tokenHash = sha256Hex(token);
    if (this.cache.isRevoked(tokenHash)) throw this.revoked(token);
    // fail closed before any answer: without the complete list of revoked sessions, none
    this.revocations?.assertComplete();

    const cached = this.cache.get(tokenHash) as SessionVerifiedToken | undefined;
    if (cached !== undefined) {
      // A key the IdP no longer publishes (seen at the last JWKS refetch) invalidates what it signed.
      const keyGone = cached.method === 'jwt' && cached.kid !== undefined && this.verifier.isKeyPublished?.(cached.kid) === false;
      if (!keyGone) {
        if (this.revocations?.isRevoked(cached)) throw this.revoked(token);
        return { ...cached, cached: true, token_hash: tokenHash };
      }
      this.cache.delete(tokenHash);
    }

    let pending = this.inFlight.get(tokenHash);
    if (pending === undefined) {
      pending = this.verifyWithSession(token, tokenHash);
      this.inFlight.set(tokenHash, pending);
      const settled = (): void => {
        if (this.inFlight.get(tokenHash) === pending) this.inFlight.delete(tokenHash);
      };
      pending.then(settled, settled);
    }
    const result = await pending;
    // Revoked while it was being verified.
    if (this.cache.isRevoked(tokenHash) || this.revocations?.isRevoked(result)) throw this.revoked(token);
    this.cache.set(tokenHash, result, result.method === 'introspection' ? { maxAgeSeconds: this.introspectionCacheSeconds } : {});
    return { ...result, cached: false, token_hash: tokenHash };
  }

  private async verifyWithSession(token: string, tokenHash: string): Promise<SessionVerifiedToken> {
    const result = await this.verifier.verify(token);
    if (this.revocations === undefined) return result;
    const sessionId = await this.revocations.sessionOfToken(tokenHash);
    return sessionId === undefined ? result : { ...result, session_id: sessionId };
  }

  /** Session revoked: evict these token hashes and answer revoked_token for them until they expire. */
  revoke(tokenHashes: readonly string[], until?: number): number {
    return this.cache.revoke(tokenHashes, until);
  }

  private revoked(token: string): TokenRejectedError {
    return new TokenRejectedError(
      'revoked_token',
      'The token has been revoked (its session was ended).',
      readUnverifiedFacts(token, this.verifier.maxTokenChars),
    );
  }
}

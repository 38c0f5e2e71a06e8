import { LRUCache } from 'lru-cache';
import type { VerifiedToken } from './verified-token';

export interface VerifiedTokenCacheOptions {
  /** Most verified tokens kept (least recently used go first); default 100000. */
  readonly maxEntries?: number;
  /** Most revoked token hashes remembered; default 100000. */
  readonly maxRevoked?: number;
  /** How long a revocation is remembered when neither `until` nor the token's expiry is known; default 86400 s. */
  readonly revokedDefaultSeconds?: number;
  /** Clock, epoch milliseconds; default Date.now. */
  readonly now?: () => number;
}

export interface CacheSetOptions {
  /** Keep the entry at most this long even if the token lives longer (e.g. introspection answers). */
  readonly maxAgeSeconds?: number;
}

interface CacheEntry {
  readonly result: VerifiedToken;
  /** Epoch ms after which the entry is dead: min(exp, now + maxAge). */
  readonly until: number;
}

const TOKEN_HASH = /^[0-9a-f]{64}$/;

/**
 * Verified tokens by `sha256Hex(token)`, in memory and bounded: a repeated token costs a
 * map lookup instead of an RSA verify. An entry never outlives its token's `exp`.
 * Revoked hashes (from session-revoked events) are evicted and remembered — bounded, until
 * the token would have expired — so they answer revoked_token instead of being re-verified.
 * Pure and synchronous.
 */
export class VerifiedTokenCache {
  private readonly entries: LRUCache<string, CacheEntry>;
  private readonly revoked: LRUCache<string, number>;
  private readonly revokedDefaultMs: number;
  private readonly now: () => number;

  constructor(options: VerifiedTokenCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    const maxRevoked = options.maxRevoked ?? 100_000;
    for (const [name, value] of [['maxEntries', maxEntries], ['maxRevoked', maxRevoked]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new TypeError(`VerifiedTokenCache: ${name} must be a positive integer`);
    }
    const revokedDefaultSeconds = options.revokedDefaultSeconds ?? 86_400;
    if (!(revokedDefaultSeconds > 0)) throw new TypeError('VerifiedTokenCache: revokedDefaultSeconds must be positive');
    this.revokedDefaultMs = revokedDefaultSeconds * 1000;
    this.now = options.now ?? Date.now;
    // lru-cache's own TTL frees memory of dead entries; get() re-checks against our clock,
    // which is what guarantees "never past exp".
    const perf = { now: () => this.now() };
    this.entries = new LRUCache<string, CacheEntry>({ max: maxEntries, perf, ttlResolution: 0 });
    this.revoked = new LRUCache<string, number>({ max: maxRevoked, perf, ttlResolution: 0 });
  }

  /** The verified result for a token hash, if cached and not yet expired. */
  get(tokenHash: string): VerifiedToken | undefined {
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.until) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry.result;
  }

  /**
   * Caches a verified result until the token's exp (or sooner with maxAgeSeconds).
   * Answers false (and caches nothing) for an expired or revoked token or a malformed hash.
   */
  set(tokenHash: string, result: VerifiedToken, options: CacheSetOptions = {}): boolean {
    if (!TOKEN_HASH.test(tokenHash) || this.isRevoked(tokenHash)) return false;
    const now = this.now();
    let until = result.expires_at * 1000;
    if (options.maxAgeSeconds !== undefined) until = Math.min(until, now + options.maxAgeSeconds * 1000);
    const ttl = Math.floor(until - now);
    if (!(ttl > 0)) return false;
    this.entries.set(tokenHash, { result, until }, { ttl });
    return true;
  }

  delete(tokenHash: string): boolean {
    return this.entries.delete(tokenHash);
  }

  /**
   * Evicts these token hashes and remembers them as revoked until `until` (epoch s), else
   * until the cached token's exp, else for revokedDefaultSeconds. Malformed hashes are
   * ignored (upper-case hex is accepted). Answers how many hashes were taken.
   */
  revoke(tokenHashes: readonly string[], until?: number): number {
    const now = this.now();
    let taken = 0;
    for (const raw of tokenHashes) {
      if (typeof raw !== 'string') continue;
      const hash = raw.toLowerCase();
      if (!TOKEN_HASH.test(hash)) continue;
      taken += 1;
      const cached = this.entries.get(hash);
      this.entries.delete(hash);
      const revokedUntil =
        until !== undefined && Number.isFinite(until) ? until * 1000 : cached !== undefined ? cached.until : now + this.revokedDefaultMs;
      const ttl = Math.floor(revokedUntil - now);
      const previous = this.revoked.get(hash);
      if (previous !== undefined && previous >= revokedUntil) continue;
      if (ttl > 0) this.revoked.set(hash, revokedUntil, { ttl });
    }
    return taken;
  }

  isRevoked(tokenHash: string): boolean {
    const until = this.revoked.get(tokenHash);
    if (until === undefined) return false;
    if (this.now() >= until) {
      this.revoked.delete(tokenHash);
      return false;
    }
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.revoked.clear();
  }

  /** Entries held (dead ones are counted until they are touched or pushed out). */
  get size(): number {
    return this.entries.size;
  }

  get revokedSize(): number {
    return this.revoked.size;
  }
}

import { LRUCache } from 'lru-cache';

export interface DecisionCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/**
 * Recent decisions of this instance, for repeated checks. Any ownership or grant change
 * empties it (`invalidateAll`), and while a change is announced but not yet applied to
 * OpenFGA (`hold`) the cache is bypassed entirely, so it never answers from before a change
 * it has heard of. A decision computed across an invalidation is not stored (epochs).
 */
export class DecisionCache {
  private readonly entries: LRUCache<string, boolean>;
  private epochValue = 0;
  private readonly held = new Set<string>();

  constructor(options: DecisionCacheOptions) {
    this.entries = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
  }

  static key(user: string, relation: string, object: string): string {
    return `${user}\u0000${relation}\u0000${object}`;
  }

  /** Taken before a decision is computed; `set` ignores it when an invalidation came in between. */
  get epoch(): number {
    return this.epochValue;
  }

  get(key: string): boolean | undefined {
    return this.held.size > 0 ? undefined : this.entries.get(key);
  }

  set(key: string, allowed: boolean, epoch: number): void {
    if (epoch === this.epochValue && this.held.size === 0) this.entries.set(key, allowed);
  }

  invalidateAll(): void {
    this.epochValue++;
    this.entries.clear();
  }

  /** A change (event id) is known but not yet applied: bypass the cache until `release`. */
  hold(changeId: string): void {
    this.held.add(changeId);
    this.invalidateAll();
  }

  release(changeId: string): void {
    if (this.held.delete(changeId)) this.invalidateAll();
  }

  get size(): number {
    return this.entries.size;
  }
}

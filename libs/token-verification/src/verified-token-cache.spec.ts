import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex } from '@fedgate/contracts';
import { VerifiedTokenCache, type VerifiedToken } from './index';

class FakeClock {
  ms = Date.UTC(2030, 0, 1);
  readonly now = (): number => this.ms;
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

function verified(expiresAt: number, overrides: Partial<VerifiedToken> = {}): VerifiedToken {
  return {
    account: { flwr_aid: 'alice', account_name: 'alice' },
    scope: 'api:read',
    expires_at: expiresAt,
    method: 'jwt',
    kid: 'k1',
    ...overrides,
  };
}

const hashOf = (token: string): string => sha256Hex(token);

describe('VerifiedTokenCache', () => {
  it('answers a cached result until exp, and never at or after exp', () => {
    const clock = new FakeClock();
    const cache = new VerifiedTokenCache({ now: clock.now });
    const hash = hashOf('token-1');
    const result = verified(clock.seconds + 60);
    assert.equal(cache.set(hash, result), true);
    assert.equal(cache.get(hash), result);
    clock.advance(59);
    assert.equal(cache.get(hash), result);
    clock.advance(1); // exactly exp
    assert.equal(cache.get(hash), undefined);
    assert.equal(cache.size, 0, 'the dead entry is dropped when touched');
  });

  it('refuses to cache an expired token, a malformed hash or a revoked token', () => {
    const clock = new FakeClock();
    const cache = new VerifiedTokenCache({ now: clock.now });
    assert.equal(cache.set(hashOf('expired'), verified(clock.seconds)), false);
    assert.equal(cache.set(hashOf('expired'), verified(clock.seconds - 10)), false);
    assert.equal(cache.set('not-a-hash', verified(clock.seconds + 60)), false);
    assert.equal(cache.set(hashOf('x').toUpperCase(), verified(clock.seconds + 60)), false);
    cache.revoke([hashOf('revoked')]);
    assert.equal(cache.set(hashOf('revoked'), verified(clock.seconds + 60)), false);
    assert.equal(cache.size, 0);
  });

  it('caps an entry with maxAgeSeconds (introspection answers)', () => {
    const clock = new FakeClock();
    const cache = new VerifiedTokenCache({ now: clock.now });
    const hash = hashOf('opaque');
    cache.set(hash, verified(clock.seconds + 3600, { method: 'introspection' }), { maxAgeSeconds: 60 });
    clock.advance(59);
    assert.ok(cache.get(hash));
    clock.advance(1);
    assert.equal(cache.get(hash), undefined);
  });

  it('is bounded: the least recently used entry goes first', () => {
    const clock = new FakeClock();
    const cache = new VerifiedTokenCache({ now: clock.now, maxEntries: 3 });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(hashOf) as [string, string, string, string];
    for (const hash of [a, b, c]) cache.set(hash, verified(clock.seconds + 60));
    assert.ok(cache.get(a)); // a is now the most recently used
    cache.set(d, verified(clock.seconds + 60));
    assert.equal(cache.size, 3);
    assert.equal(cache.get(b), undefined, 'b was the least recently used');
    assert.ok(cache.get(a) && cache.get(c) && cache.get(d));
  });

  it('revoke evicts and remembers a hash until the cached token would have expired', () => {
    const clock = new FakeClock();
    const cache = new VerifiedTokenCache({ now: clock.now });
    const hash = hashOf('session-token');
    cache.set(hash, verified(clock.seconds + 120));
    assert.equal(cache.revoke([hash]), 1);
    assert.equal(cache.get(hash), undefined);
    assert.equal(cache.isRevoked(hash), true);
    clock.advance(119);
    assert.equal(cache.isRevoked(hash), true);
    clock.advance(1);
    assert.equal(cache.isRevoked(hash), false, 'forgotten once the token is dead anyway');
    assert.equal(cache.revokedSize, 0);
  });

  it('revoke honours an explicit until, else a default max age for unknown tokens', () => {
    const clock = new FakeClock();
    const cache = new VerifiedTokenCache({ now: clock.now, revokedDefaultSeconds: 600 });
    const known = hashOf('with-until');
    const unknown = hashOf('never-seen');
    cache.revoke([known], clock.seconds + 30);
    cache.revoke([unknown]);
    clock.advance(30);
    assert.equal(cache.isRevoked(known), false);
    assert.equal(cache.isRevoked(unknown), true);
    clock.advance(570);
    assert.equal(cache.isRevoked(unknown), false);
    // a later, shorter revocation does not shorten a longer one
    cache.revoke([unknown], clock.seconds + 100);
    cache.revoke([unknown], clock.seconds + 10);
    clock.advance(50);
    assert.equal(cache.isRevoked(unknown), true);
  });

  it('revoke ignores malformed hashes, accepts upper-case hex, and stays bounded', () => {
    const clock = new FakeClock();
    const cache = new VerifiedTokenCache({ now: clock.now, maxRevoked: 2 });
    const upper = hashOf('upper').toUpperCase();
    assert.equal(cache.revoke(['', 'nope', 'g'.repeat(64), 42 as unknown as string, upper]), 1);
    assert.equal(cache.isRevoked(upper.toLowerCase()), true);
    cache.revoke([hashOf('r1'), hashOf('r2'), hashOf('r3')]);
    assert.equal(cache.revokedSize, 2);
  });

  it('is fast: a million gets in well under a second', () => {
    const cache = new VerifiedTokenCache();
    const hashes = Array.from({ length: 1000 }, (_, i) => hashOf(`token-${i}`));
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    for (const hash of hashes) cache.set(hash, verified(expiresAt));
    const started = performance.now();
    let hits = 0;
    for (let i = 0; i < 1_000_000; i += 1) if (cache.get(hashes[i % 1000] as string)) hits += 1;
    const elapsed = performance.now() - started;
    assert.equal(hits, 1_000_000);
    assert.ok(elapsed < 1_000, `${elapsed} ms`);
  });

  it('validates its options', () => {
    assert.throws(() => new VerifiedTokenCache({ maxEntries: 0 }), TypeError);
    assert.throws(() => new VerifiedTokenCache({ maxRevoked: 1.5 }), TypeError);
    assert.throws(() => new VerifiedTokenCache({ revokedDefaultSeconds: 0 }), TypeError);
  });
});

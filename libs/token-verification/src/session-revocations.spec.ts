import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex } from '@fedgate/contracts';
import type { RevokedSessionRow } from '@fedgate/database';
import { CachingTokenVerifier } from './caching-token-verifier';
import { SessionRevocations, type SessionRevocationSource } from './session-revocations';
import type { TokenVerifierLike } from './token-verifier';
import type { VerifiedToken } from './verified-token';

/** The durable list in memory: rows, a token → session map, and a switch to make reads fail. */
class MemorySource implements SessionRevocationSource {
  rows: RevokedSessionRow[] = [];
  tokens = new Map<string, string>();
  down = false;
  reads: Array<string | undefined> = [];
  async revokedSessions(since?: string) {
    this.reads.push(since);
    if (this.down) throw new Error('connect ECONNREFUSED');
    return { sessions: [...this.rows], asOf: `t${this.reads.length}` };
  }
  async sessionOfToken(hash: string) {
    if (this.down) throw new Error('connect ECONNREFUSED');
    return this.tokens.get(hash);
  }
}

describe('SessionRevocations', () => {
  it('refuses to answer (503 revocation_unavailable) until the list is read, and when it went stale', async () => {
    let now = 1_000_000;
    const source = new MemorySource();
    const revocations = new SessionRevocations(source, { maxStalenessMs: 5000, now: () => now });
    assert.throws(() => revocations.isRevoked({ session_id: 's1' }), { code: 'revocation_unavailable', status: 503 });
    source.rows = [{ session_id: 's1', idp_sid: 'idp-1', forget_after: now + 60_000 }];
    await revocations.refresh();
    assert.equal(revocations.isRevoked({ session_id: 's1' }), true);
    assert.equal(revocations.isRevoked({ sid: 'idp-1' }), true, 'by the IdP session id alone');
    assert.equal(revocations.isRevoked({ session_id: 's2', sid: 'idp-2' }), false);
    source.down = true;
    await assert.rejects(revocations.refresh());
    now += 5001;
    assert.throws(() => revocations.isRevoked({ session_id: 's2' }), { code: 'revocation_unavailable' });
    source.down = false;
    await revocations.refresh();
    assert.equal(revocations.isRevoked({ session_id: 's2' }), false);
    assert.equal(source.reads[0], undefined, 'the first read is the whole list');
    assert.equal(source.reads.at(-1), 't1', 'later reads start from the last successful one');
  });

  it('keeps every revocation until its forget_after, however many (no size cap)', async () => {
    let now = 0;
    const source = new MemorySource();
    source.rows = Array.from({ length: 200_000 }, (_, i) => ({ session_id: `s${i}`, forget_after: 10_000 }));
    const revocations = new SessionRevocations(source, { now: () => now, maxStalenessMs: 60_000 });
    await revocations.refresh();
    assert.equal(revocations.size.sessions, 200_000);
    assert.equal(revocations.isRevoked({ session_id: 's0' }), true, 'the oldest is still there');
    now = 10_000;
    revocations.add({ session_id: 'late', forget_after: 20_000 });
    assert.equal(revocations.isRevoked({ session_id: 's0' }), false, 'forgotten once no token of it can be valid');
    assert.equal(revocations.isRevoked({ session_id: 'late' }), true);
  });

  it('makes CachingTokenVerifier refuse a cached token of a session revoked later, and a token only its sid ties to the session', async () => {
    const source = new MemorySource();
    const revocations = new SessionRevocations(source);
    const answers = new Map<string, VerifiedToken>([
      ['seen-token', { account: { flwr_aid: 'alice', account_name: 'alice' }, scope: '', expires_at: Math.floor(Date.now() / 1000) + 300, method: 'jwt', sid: 'idp-a' }],
      ['minted-at-idp', { account: { flwr_aid: 'alice', account_name: 'alice' }, scope: '', expires_at: Math.floor(Date.now() / 1000) + 300, method: 'jwt', sid: 'idp-a' }],
    ]);
    const inner: TokenVerifierLike = { maxTokenChars: 16_384, verify: async (token: string) => answers.get(token)! } as unknown as TokenVerifierLike;
    const verifier = new CachingTokenVerifier({ verifier: inner, revocations });
    await assert.rejects(verifier.verify('seen-token'), { code: 'revocation_unavailable' }, 'nothing answered before the list is read');
    await revocations.refresh();
    source.tokens.set(sha256Hex('seen-token'), 'session-a');
    assert.equal((await verifier.verify('seen-token')).session_id, 'session-a');
    assert.equal((await verifier.verify('seen-token')).cached, true);
    revocations.add({ session_id: 'session-a', forget_after: Date.now() + 60_000 });
    await assert.rejects(verifier.verify('seen-token'), { code: 'revoked_token' }, 'the cached answer is not served');
    assert.equal((await verifier.verify('minted-at-idp')).cached, false, 'not revoked by session id: Fedgate never saw it');
    revocations.add({ session_id: 'session-a', idp_sid: 'idp-a', forget_after: Date.now() + 60_000 });
    await assert.rejects(verifier.verify('minted-at-idp'), { code: 'revoked_token' }, 'refused by its sid');
  });
});

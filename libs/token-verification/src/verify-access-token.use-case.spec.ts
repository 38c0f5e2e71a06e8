import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promiseState } from '@fedgate/testing';
import { sha256Hex, type FedgateEvent } from '@fedgate/contracts';
import type { CachedVerification, CachingTokenVerifier } from './caching-token-verifier';
import { TokenRejectedError } from './verified-token';
import { VerifyAccessToken } from './verify-access-token.use-case';

const origin = { client_id: 'superlink' };
const verified: CachedVerification = { account: { flwr_aid: 'alice', account_name: 'alice' }, scope: '', expires_at: 2_000_000_000, method: 'jwt', cached: false, token_hash: sha256Hex('t') };
const verifier = (verify: () => Promise<CachedVerification>) => ({ verify }) as unknown as CachingTokenVerifier;
const use = (audit: { append: (e: FedgateEvent) => Promise<void> }, verify: () => Promise<CachedVerification> = async () => verified) =>
  new VerifyAccessToken({ verifier: verifier(verify), audit, auditSuccess: true });

describe('VerifyAccessToken: no answer before its audit event is durable', () => {
  it('does not answer while the append of token.verified has not resolved, and answers once it has', async () => {
    let durable!: () => void;
    const appended: FedgateEvent[] = [];
    const answer = use({ append: (e) => new Promise<void>((r) => { appended.push(e); durable = r; }) }).execute('t', origin);
    assert.equal(await promiseState(answer), 'pending');
    assert.equal(appended[0]?.type, 'fedgate.token.verified.v1');
    durable();
    assert.equal((await answer).account.flwr_aid, 'alice');
  });

  it('an append that never resolves: never an answer', async () => {
    assert.equal(await promiseState(use({ append: () => new Promise<void>(() => undefined) }).execute('t', origin)), 'pending');
  });

  it('an append that rejects: the error, not an answer', async () => {
    await assert.rejects(use({ append: () => Promise.reject(new Error('insert failed')) }).execute('t', origin), /insert failed/);
  });

  it('a refused token: its 401 leaves only after token.rejected is durable, and not at all when that append fails', async () => {
    const refuse = () => Promise.reject(new TokenRejectedError('expired_token', 'expired', { sub: 'mallory' }));
    let durable!: () => void;
    const appended: FedgateEvent[] = [];
    const refusal = use({ append: (e) => new Promise<void>((r) => { appended.push(e); durable = r; }) }, refuse).execute('t', origin);
    assert.equal(await promiseState(refusal), 'pending');
    assert.equal(appended[0]?.type, 'fedgate.token.rejected.v1');
    durable();
    await assert.rejects(refusal, { code: 'expired_token' });
    await assert.rejects(use({ append: () => Promise.reject(new Error('insert failed')) }, refuse).execute('t', origin), /insert failed/);
  });
});

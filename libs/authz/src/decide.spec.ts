import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promiseState } from '@fedgate/testing';
import { overloaded, type FedgateEvent } from '@fedgate/contracts';
import type { AuthorizationStore } from './authorization-store';
import { Decide } from './decide';
import { DecisionCache } from './decision-cache';
import type { ProjectionState } from './projection-state';

const question = { flwr_aid: 'alice', relation: 'can_view', object: 'run:1' };
const options = { endpoint: 'check' as const, origin: { client_id: 'superlink' } };
const projection = { position: { generation: 1, applied: 0n } } as unknown as ProjectionState;
const store = (check: () => Promise<boolean>) => ({ check, isPinned: true, pinned: () => ({ modelId: 'm1' }) }) as unknown as AuthorizationStore;
const decide = (audit: { append: (e: FedgateEvent) => Promise<void> }, check: () => Promise<boolean> = async () => true) =>
  new Decide(store(check), new DecisionCache({ maxEntries: 10, ttlMs: 60_000 }), audit, projection);

describe('Decide: no answer before its audit event is durable', () => {
  it('does not answer while the append of its decision event has not resolved, and answers once it has', async () => {
    let durable!: () => void;
    const appended: FedgateEvent[] = [];
    const answer = decide({ append: (e) => new Promise<void>((r) => { appended.push(e); durable = r; }) }).execute(question, options);
    assert.equal(await promiseState(answer), 'pending', 'no answer while the event is not durable');
    assert.equal(appended.length, 1);
    durable();
    const decision = await answer;
    assert.equal(decision.allowed, true);
    assert.equal(decision.decision_id, (appended[0]!.data as { decision_id: string }).decision_id, 'the answer is the recorded decision');
  });

  it('an append that never resolves: never an answer', async () => {
    const answer = decide({ append: () => new Promise<void>(() => undefined) }).execute(question, options);
    assert.equal(await promiseState(answer), 'pending');
  });

  it('an append that rejects: a 503 error, not an answer (also for a cached decision)', async () => {
    let fail = false;
    const d = decide({ append: async () => { if (fail) throw new Error('insert failed'); } });
    await d.execute(question, options); // now cached
    fail = true;
    await assert.rejects(d.execute(question, options), { code: 'authz_unavailable', status: 503 });
  });

  it('a full audit writer (overloaded) is answered 503 overloaded, not an answer', async () => {
    await assert.rejects(decide({ append: () => Promise.reject(overloaded('audit outbox writer')) }).execute(question, options), { code: 'overloaded', status: 503 });
  });

  it('a check shed by a full OpenFGA queue is 503 overloaded and records nothing (nothing was decided)', async () => {
    const appended: FedgateEvent[] = [];
    const d = decide({ append: async (e) => void appended.push(e) }, () => Promise.reject(overloaded('OpenFGA check queue')));
    await assert.rejects(d.execute(question, options), { code: 'overloaded', status: 503 });
    assert.equal(appended.length, 0);
  });
});

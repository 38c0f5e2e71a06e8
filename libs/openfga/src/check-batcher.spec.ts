import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckBatcher } from './check-batcher';
import { OpenFgaRequestError, type TupleKey } from './openfga-http.client';

/** A stand-in OpenFGA: allows `user` 'yes', records every request, answers when released. */
function fakeOpenFga() {
  const requests: Array<{ kind: 'check' | 'batch'; tuples: TupleKey[]; release: () => void }> = [];
  const allowed = (t: TupleKey) => t.user === 'yes';
  const answerLater = <T>(kind: 'check' | 'batch', tuples: TupleKey[], value: () => T) =>
    new Promise<T>((resolve) => requests.push({ kind, tuples, release: () => resolve(value()) }));
  return {
    requests,
    client: {
      check: (_s: string, _m: string, tuple: TupleKey) => answerLater('check', [tuple], () => allowed(tuple)),
      batchCheck: (_s: string, _m: string, tuples: TupleKey[]) =>
        answerLater('batch', tuples, () => tuples.map((t) => (t.object === 'run:broken' ? new OpenFgaRequestError(null, 'cannot decide') : allowed(t)))),
    },
  };
}
const q = (user: string, object = 'run:1'): TupleKey => ({ user, relation: 'can_view', object });
const tick = () => new Promise((r) => setImmediate(r));

describe('CheckBatcher', () => {
  it('sends a lone check at once as a plain Check', async () => {
    const fga = fakeOpenFga();
    const answer = new CheckBatcher(fga.client, { maxInFlight: 2 }).check('s', 'm', q('yes'));
    assert.equal(fga.requests.length, 1);
    assert.equal(fga.requests[0]!.kind, 'check');
    fga.requests[0]!.release();
    assert.equal(await answer, true);
  });

  it('while maxInFlight requests are out, queues checks and sends them as batches of at most maxBatch, each answered', async () => {
    const fga = fakeOpenFga();
    const batcher = new CheckBatcher(fga.client, { maxInFlight: 1, maxBatch: 3 });
    const answers = [q('yes'), q('no'), q('yes'), q('no'), q('yes'), q('no')].map((t) => batcher.check('s', 'm', t));
    assert.equal(fga.requests.length, 1, 'one request out, the others wait');
    assert.equal(batcher.waiting, 5);
    fga.requests[0]!.release();
    await tick();
    assert.equal(fga.requests.length, 2);
    assert.deepEqual(fga.requests[1]!.tuples.map((t) => t.user), ['no', 'yes', 'no']);
    fga.requests[1]!.release();
    await tick();
    assert.deepEqual(fga.requests[2]!.tuples.map((t) => t.user), ['yes', 'no']);
    fga.requests[2]!.release();
    assert.deepEqual(await Promise.all(answers), [true, false, true, false, true, false]);
  });

  it('fails only the check OpenFGA could not decide, and every check of a failed request', async () => {
    const fga = fakeOpenFga();
    const batcher = new CheckBatcher(fga.client, { maxInFlight: 1 });
    const first = batcher.check('s', 'm', q('yes'));
    const good = batcher.check('s', 'm', q('yes'));
    const broken = batcher.check('s', 'm', q('yes', 'run:broken'));
    fga.requests[0]!.release();
    await tick();
    fga.requests[1]!.release();
    assert.equal(await first, true);
    assert.equal(await good, true);
    await assert.rejects(broken, OpenFgaRequestError);

    const failing = new CheckBatcher({ check: () => Promise.reject(new OpenFgaRequestError(null, 'down')), batchCheck: () => Promise.reject(new OpenFgaRequestError(null, 'down')) }, { maxInFlight: 1 });
    const results = await Promise.allSettled([1, 2, 3].map(() => failing.check('s', 'm', q('yes'))));
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  });

  it('never mixes stores or models in one request', async () => {
    const fga = fakeOpenFga();
    const batcher = new CheckBatcher(fga.client, { maxInFlight: 1 });
    void batcher.check('s', 'm1', q('yes'));
    void batcher.check('s', 'm1', q('yes'));
    void batcher.check('s', 'm2', q('yes'));
    void batcher.check('s', 'm1', q('no'));
    fga.requests[0]!.release();
    await tick();
    assert.deepEqual(fga.requests[1]!.tuples.map((t) => t.user), ['yes', 'no'], 'the two m1 checks, not the m2 one');
    fga.requests[1]!.release();
    await tick();
    assert.equal(fga.requests[2]!.kind, 'check');
    fga.requests[2]!.release();
  });

  it('is bounded: past maxWaiting a check is refused at once with 503 overloaded, and OpenFGA is not asked', async () => {
    const fga = fakeOpenFga();
    const batcher = new CheckBatcher(fga.client, { maxInFlight: 1, maxBatch: 2, maxWaiting: 3 });
    const accepted = [1, 2, 3, 4].map(() => batcher.check('s', 'm', q('yes'))); // one out, three waiting
    assert.equal(batcher.waiting, 3);
    await assert.rejects(batcher.check('s', 'm', q('yes')), { code: 'overloaded', status: 503 });
    assert.equal(batcher.waiting, 3, 'the refused check did not queue');
    assert.equal(fga.requests.length, 1);
    fga.requests[0]!.release();
    await tick();
    fga.requests[1]!.release();
    await tick();
    fga.requests[2]!.release();
    assert.deepEqual(await Promise.all(accepted), [true, true, true, true]);
  });

  it('defaults to a bound of 10 full batches', async () => {
    const fga = fakeOpenFga();
    const batcher = new CheckBatcher(fga.client, { maxInFlight: 1, maxBatch: 5 });
    const accepted = Array.from({ length: 51 }, () => batcher.check('s', 'm', q('yes')));
    assert.equal(batcher.waiting, 50);
    await assert.rejects(batcher.check('s', 'm', q('yes')), { code: 'overloaded' });
    for (let i = 0; i < 11; i++) {
      fga.requests[i]!.release();
      await tick();
    }
    assert.equal((await Promise.all(accepted)).length, 51);
  });
});

import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { promiseState } from '@fedgate/testing';
import { GroupedCalls, type GroupedCallsOptions } from './grouped-calls';

/** A dependency whose sends finish only when the test says so; each answers `item * 10`, or fails the items named. */
function heldDependency() {
  const sends: Array<{ items: number[]; finish: (failing?: number[]) => void; crash: (err: Error) => void }> = [];
  const send = (items: number[]) =>
    new Promise<Array<number | Error>>((resolve, reject) =>
      sends.push({ items, finish: (failing = []) => resolve(items.map((i) => (failing.includes(i) ? new Error(`no answer for ${i}`) : i * 10))), crash: reject }),
    );
  return { sends, send };
}
const options = (more: Partial<GroupedCallsOptions<number>> = {}): GroupedCallsOptions<number> => ({ maxInFlight: 1, maxBatch: 10, maxWaiting: 100, name: 'test queue', ...more });
const tick = () => new Promise((r) => setImmediate(r));

/** Mocked timers and clock at `now`, and GroupedCalls with a 5 ms minIntervalMs whose first call has been answered. */
async function afterOneCall(t: { after: (fn: () => void) => void }, now: number) {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now });
  t.after(() => mock.timers.reset());
  const dep = heldDependency();
  const calls = new GroupedCalls(dep.send, options({ minIntervalMs: 5 }));
  const first = calls.call(1);
  assert.deepEqual(dep.sends.map((s) => s.items), [[1]], 'quiet until now: no wait');
  dep.sends[0]!.finish();
  assert.equal(await first, 10);
  return { dep, calls };
}

describe('GroupedCalls', () => {
  it('sends an idle call at once, alone', async () => {
    const dep = heldDependency();
    const answer = new GroupedCalls(dep.send, options()).call(1);
    assert.deepEqual(dep.sends.map((s) => s.items), [[1]]);
    dep.sends[0]!.finish();
    assert.equal(await answer, 10);
  });

  it('groups the calls that arrive while maxInFlight sends are out, at most maxBatch per send, each with its own answer', async () => {
    const dep = heldDependency();
    const calls = new GroupedCalls(dep.send, options({ maxInFlight: 2, maxBatch: 3 }));
    const answers = [1, 2, 3, 4, 5, 6, 7].map((i) => calls.call(i));
    assert.deepEqual(dep.sends.map((s) => s.items), [[1], [2]], 'two out, the rest wait');
    assert.equal(calls.waiting, 5);
    assert.equal(await promiseState(answers[0]!), 'pending', 'no answer before its send finished');
    dep.sends[0]!.finish();
    await tick();
    assert.deepEqual(dep.sends[2]!.items, [3, 4, 5], 'the oldest waiting, one batch');
    dep.sends[1]!.finish();
    await tick();
    assert.deepEqual(dep.sends[3]!.items, [6, 7]);
    dep.sends[2]!.finish();
    dep.sends[3]!.finish();
    assert.deepEqual(await Promise.all(answers), [10, 20, 30, 40, 50, 60, 70]);
    assert.equal(calls.waiting, 0);
  });

  it('fails only the call whose outcome is an Error, and every call of a send that throws; the next calls are sent again', async () => {
    const dep = heldDependency();
    const calls = new GroupedCalls(dep.send, options());
    const first = calls.call(1);
    const group = [2, 3, 4].map((i) => calls.call(i));
    dep.sends[0]!.finish();
    await first;
    dep.sends[1]!.finish([3]);
    const [two, three, four] = await Promise.allSettled(group);
    assert.deepEqual([two, four].map((s) => s!.status === 'fulfilled' && s.value), [20, 40]);
    assert.match(String(three!.status === 'rejected' && three.reason), /no answer for 3/);

    const crashed = [calls.call(5)];
    dep.sends[2]!.crash(new Error('connection terminated'));
    await assert.rejects(crashed[0]!, /connection terminated/);
    const later = calls.call(6);
    dep.sends[3]!.finish();
    assert.equal(await later, 60);
  });

  it('fails a call its send gave no outcome for', async () => {
    const calls = new GroupedCalls(async () => [], options());
    await assert.rejects(calls.call(1), /test queue gave no answer/);
  });

  it('never mixes groups in one send; the oldest call\'s group goes first', async () => {
    const dep = heldDependency();
    const calls = new GroupedCalls(dep.send, options({ groupOf: (i) => (i % 2 === 0 ? 'even' : 'odd') }));
    const answers = [1, 2, 3, 4, 6, 5].map((i) => calls.call(i));
    dep.sends[0]!.finish();
    await tick();
    assert.deepEqual(dep.sends[1]!.items, [2, 4, 6]);
    dep.sends[1]!.finish();
    await tick();
    assert.deepEqual(dep.sends[2]!.items, [3, 5]);
    dep.sends[2]!.finish();
    assert.deepEqual(await Promise.all(answers), [10, 20, 30, 40, 60, 50]);
  });

  it('with minIntervalMs, starts sends at least that far apart: a call after a quiet spell leaves at once, the ones within the interval leave together at its end', async (t) => {
    const { dep, calls } = await afterOneCall(t, 1_000_000);
    mock.timers.tick(2);
    const next = [2, 3].map((i) => calls.call(i));
    assert.equal(dep.sends.length, 1, 'nothing in flight, but the last send began 2 ms ago');
    assert.equal(calls.waiting, 2);
    mock.timers.tick(2);
    assert.equal(dep.sends.length, 1);
    mock.timers.tick(1);
    assert.deepEqual(dep.sends.map((s) => s.items), [[1], [2, 3]], '5 ms after the last send began, one send for both');
    dep.sends[1]!.finish();
    assert.deepEqual(await Promise.all(next), [20, 30]);
    mock.timers.tick(5);
    const later = calls.call(4);
    assert.equal(dep.sends.length, 3, 'the interval has passed: at once');
    dep.sends[2]!.finish();
    assert.equal(await later, 40);
  });

  it('with minIntervalMs, never holds a call longer than the interval, also when the wall clock was set back', async (t) => {
    const { dep, calls } = await afterOneCall(t, 10_000_000);
    mock.timers.setTime(10_000_000 - 3_600_000);
    const second = calls.call(2);
    assert.equal(dep.sends.length, 1);
    mock.timers.tick(5);
    assert.deepEqual(dep.sends.map((s) => s.items), [[1], [2]], 'sent after the interval, not an hour later');
    dep.sends[1]!.finish();
    assert.equal(await second, 20);
  });

  it('is bounded: past maxWaiting a call is refused at once with 503 overloaded, not queued, and the dependency is not asked', async () => {
    const dep = heldDependency();
    const calls = new GroupedCalls(dep.send, options({ maxBatch: 5, maxWaiting: 3 }));
    const accepted = [1, 2, 3, 4].map((i) => calls.call(i)); // one out, three waiting
    await assert.rejects(calls.call(5), { code: 'overloaded', status: 503, message: /test queue/ });
    assert.equal(calls.waiting, 3, 'the refused call was not queued');
    dep.sends[0]!.finish();
    await tick();
    assert.deepEqual(dep.sends.map((s) => s.items), [[1], [2, 3, 4]], 'the refused call was never sent');
    dep.sends[1]!.finish();
    assert.deepEqual(await Promise.all(accepted), [10, 20, 30, 40]);
  });
});

import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { promiseState } from '@fedgate/testing';
import { createCloudEvent, type FedgateEvent } from '@fedgate/contracts';
import { OutboxGroupWriter } from './outbox-group.writer';

const event = (i: number) => createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: String(i) } });

/** An outbox whose INSERTs finish only when the test says so. */
function heldOutbox() {
  const writes: Array<{ events: readonly FedgateEvent[]; done: () => void; fail: (err: Error) => void }> = [];
  return {
    writes,
    outbox: { appendNow: (events: readonly FedgateEvent[]) => new Promise<void>((done, fail) => writes.push({ events, done, fail })) },
  };
}

describe('OutboxGroupWriter', () => {
  it('resolves an append only once its INSERT has committed, and groups the appends that wait', async () => {
    const { outbox, writes } = heldOutbox();
    const writer = new OutboxGroupWriter(outbox, { maxBatch: 10, maxWaiting: 100, minIntervalMs: 0 });
    const first = writer.append(event(0));
    const others = [1, 2, 3].map((i) => writer.append(event(i)));
    assert.equal(writes.length, 1, 'one INSERT in flight');
    assert.equal(await promiseState(first), 'pending', 'not durable yet: not resolved');
    writes[0]!.done();
    await first;
    assert.equal(writes.length, 2);
    assert.equal(writes[1]!.events.length, 3, 'the three that waited go in one INSERT');
    assert.equal(await promiseState(Promise.all(others)), 'pending');
    writes[1]!.done();
    await Promise.all(others);
  });

  it('by default writes an append after a quiet spell at once, and gathers a steady stream for at most 2 ms after the last INSERT began', async (t) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    t.after(() => mock.timers.reset());
    const { outbox, writes } = heldOutbox();
    const writer = new OutboxGroupWriter(outbox);
    const first = writer.append(event(0));
    assert.equal(writes.length, 1, 'nothing written for a while: no wait');
    writes[0]!.done();
    await first;
    const stream = [1, 2].map((i) => writer.append(event(i)));
    assert.equal(writes.length, 1, 'the last INSERT began under 2 ms ago: these wait');
    mock.timers.tick(1);
    assert.equal(writes.length, 1);
    mock.timers.tick(1);
    assert.equal(writes.length, 2, '2 ms after the last INSERT began, the next one');
    assert.deepEqual(writes[1]!.events.map((e) => e.data), [{ message: '1' }, { message: '2' }], 'both in one INSERT');
    assert.equal(await promiseState(Promise.all(stream)), 'pending', 'still answered only once durable');
    writes[1]!.done();
    await Promise.all(stream);
    mock.timers.tick(1000);
    const later = writer.append(event(3));
    assert.equal(writes.length, 3, 'after a quiet spell, written at once again');
    writes[2]!.done();
    await later;
  });

  it('rejects every append of a failed INSERT', async () => {
    const { outbox, writes } = heldOutbox();
    const writer = new OutboxGroupWriter(outbox);
    const append = writer.append(event(0));
    writes[0]!.fail(new Error('disk full'));
    await assert.rejects(append, /disk full/);
  });

  it('is bounded: past maxWaiting an append is refused at once with 503 overloaded, and the queue never grows', async () => {
    const { outbox, writes } = heldOutbox();
    const writer = new OutboxGroupWriter(outbox, { maxBatch: 5, maxWaiting: 3, minIntervalMs: 0 });
    const accepted = [0, 1, 2, 3].map((i) => writer.append(event(i))); // one in the INSERT, three waiting
    assert.equal(writer.queued, 3);
    await assert.rejects(writer.append(event(4)), { code: 'overloaded', status: 503 });
    assert.equal(writer.queued, 3, 'the refused event was not queued');
    writes[0]!.done();
    await new Promise((r) => setImmediate(r));
    assert.equal(writer.queued, 0, 'room again once the waiting ones went out');
    const later = writer.append(event(5));
    writes[1]!.done();
    await new Promise((r) => setImmediate(r));
    writes[2]!.done();
    await Promise.all([...accepted, later]);
  });
});

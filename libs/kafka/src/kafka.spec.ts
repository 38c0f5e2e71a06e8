import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { FedgateEvent, TOPICS, createCloudEvent, topicsProducedBy, type SerializedCloudEvent } from '@fedgate/contracts';
import type { DeadLetter, OutboxEntry, OutboxPruneOptions, OutboxStore, RelayBatchOptions } from '@fedgate/database';
import { waitFor } from '@fedgate/testing';
import { cloudEventMessage, fromKafkaValue, serializedCloudEventMessage } from './cloud-event.serializer';
import type { CloudEventPublisher } from './cloud-event.publisher';
import { onceInMemory } from './idempotency';
import { outboxRelayOptions } from './kafka.module';
import { OutboxRelay } from './outbox.relay';

const event = (message: string, nonce = 'n1'): FedgateEvent =>
  createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message, nonce } });

/** An outbox row as the store takes it: the event's stored text. */
const entry = (i: number, e: FedgateEvent, topic = 't'): OutboxEntry => ({ id: String(i), seq: BigInt(i), topic, key: e.subject, type: e.type, json: JSON.stringify(e) });
const messageOf = (e: SerializedCloudEvent) => (JSON.parse(e.json) as FedgateEvent<'fedgate.system.test.v1'>).data.message;

describe('CloudEvents Kafka binding', () => {
  it('keys a message by subject and round-trips the envelope', () => {
    const e = event('hello');
    const message = cloudEventMessage(e);
    assert.equal(message.key, 'system:n1');
    assert.equal(message.headers?.['ce_id'], e.id);
    assert.match(String(message.headers?.['content-type']), /^application\/cloudevents\+json/);
    assert.deepEqual(fromKafkaValue(Buffer.from(message.value as string)), e);
  });

  it('sends an event already serialized as its text, with the same key and headers', () => {
    const e = event('stored');
    // PostgreSQL's jsonb text: keys reordered, a space after each colon and comma
    const json = `{"id": "${e.id}", "data": {"nonce": "n1", "message": "stored"}, "time": "${e.time}", "type": "${e.type}", "source": "${e.source}", "subject": "${e.subject}", "specversion": "1.0", "datacontenttype": "application/json"}`;
    const message = serializedCloudEventMessage({ id: e.id, type: e.type, key: e.subject, json });
    assert.equal(message.value, json, 'not parsed and serialized again');
    const { value: _value, ...rest } = cloudEventMessage(e);
    const { value: _stored, ...storedRest } = message;
    assert.deepEqual(storedRest, rest);
    assert.deepEqual(fromKafkaValue(Buffer.from(json)), e);
  });

  it('rejects values that are not valid Fedgate events, with a code', () => {
    assert.throws(() => fromKafkaValue(Buffer.from('not json')), { code: 'invalid_event' });
    assert.throws(() => fromKafkaValue(null), { code: 'invalid_event' });
    const unknown = { ...event('x'), type: 'fedgate.nope.v1' };
    assert.throws(() => fromKafkaValue(Buffer.from(JSON.stringify(unknown))), { code: 'unknown_event_type' });
  });
});

describe('onceInMemory', () => {
  it('applies each event id once', async () => {
    const applied: string[] = [];
    const handle = onceInMemory((e) => void applied.push(e.id), 10);
    const a = event('a');
    const b = event('b');
    const received = (e: FedgateEvent) => ({ event: e, topic: 't', partition: 0, offset: '0' });
    await handle([received(a), received(b), received(a)]);
    await handle([received(b)]);
    assert.deepEqual(applied, [a.id, b.id]);
  });
});

/** An outbox in memory with the relayBatch contract: nothing is marked when publish throws. */
class MemoryOutbox {
  pending: OutboxEntry[] = [];
  prunes: Array<{ at: number; retentionMs: number; batchSize: number }> = [];
  pruneFailures = 0;
  async prunePublished(options: OutboxPruneOptions): Promise<number> {
    this.prunes.push({ at: Date.now(), retentionMs: options.retentionMs, batchSize: options.batchSize });
    if (this.pruneFailures-- > 0) throw new Error('database down');
    return 0;
  }
  dead: DeadLetter[] = [];
  alive = 0;
  async relayBatch(publish: (entries: OutboxEntry[], alive: () => Promise<void>) => Promise<DeadLetter[] | void>, options: RelayBatchOptions): Promise<number> {
    const batch = this.pending.slice(0, options.limit);
    if (batch.length === 0) return 0;
    this.dead.push(...((await publish(batch, async () => void this.alive++)) ?? []));
    this.pending = this.pending.slice(batch.length);
    return batch.length;
  }
}

describe('OutboxRelay', () => {
  it('publishes in outbox order, one send per run of the same topic', async () => {
    const outbox = new MemoryOutbox();
    outbox.pending = ['t1', 't1', 't2', 't1'].map((topic, i) => entry(i, event(String(i)), topic));
    const sends: Array<[string, string[]]> = [];
    const publisher = { publishSerialized: async (topic: string, es: readonly SerializedCloudEvent[]) => void sends.push([topic, es.map(messageOf)]) };
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher, { batchSize: 10 });
    assert.equal(await relay.relayOnce(), 4);
    assert.deepEqual(sends, [['t1', ['0', '1']], ['t2', ['2']], ['t1', ['3']]]);
    assert.equal(outbox.pending.length, 0);
    assert.equal(outbox.alive, 3, 'the transaction is told the relay is alive after each send');
  });

  it('sends the events services act on (ownership, login) before the audit-only ones of the same batch, each topic in order', async () => {
    const outbox = new MemoryOutbox();
    const topics = [TOPICS.authz, TOPICS.authz, TOPICS.ownership, TOPICS.authz, TOPICS.login, TOPICS.ownership, TOPICS.token];
    outbox.pending = topics.map((topic, i) => entry(i, event(String(i)), topic));
    const sends: Array<[string, string[]]> = [];
    const publisher = { publishSerialized: async (topic: string, es: readonly SerializedCloudEvent[]) => void sends.push([topic, es.map(messageOf)]) };
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher, { batchSize: 10 });
    assert.equal(await relay.relayOnce(), 7);
    assert.deepEqual(sends, [
      [TOPICS.ownership, ['2']],
      [TOPICS.login, ['4']],
      [TOPICS.ownership, ['5']],
      [TOPICS.authz, ['0', '1', '3']],
      [TOPICS.token, ['6']],
    ]);
  });

  it('splits a run of one topic into sends of at most 32 KiB (the default), in order; a larger event goes alone', async () => {
    const outbox = new MemoryOutbox();
    // about 1 KiB each, and one of 40 KiB (below maxEventBytes, above a send; larger than the
    // test event's schema allows, so its data is set after the event is made)
    const messages = Array.from({ length: 100 }, (_, i) => (i === 50 ? 'L' : String(i)).padEnd(i === 50 ? 40_000 : 1000, '.'));
    const made = (m: string) => (m.length > 1000 ? { ...event('L'), data: { message: m, nonce: 'n1' } } : event(m)) as FedgateEvent;
    outbox.pending = messages.map((m, i) => entry(i, made(m)));
    const sends: Array<readonly SerializedCloudEvent[]> = [];
    const publisher = { publishSerialized: async (_t: string, es: readonly SerializedCloudEvent[]) => void sends.push(es) };
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher);
    assert.equal(await relay.relayOnce(), 100);
    const bytes = (es: readonly SerializedCloudEvent[]) => es.reduce((sum, e) => sum + Buffer.byteLength(e.json), 0);
    assert.deepEqual(sends.flat().map(messageOf), messages, 'every event once, in outbox order');
    assert.deepEqual(sends.filter((es) => bytes(es) > 32 * 1024).map((es) => es.length), [1], 'only the 40 KiB event exceeds a send, alone');
    assert.ok(sends.length >= 4, `${sends.length} sends`);
  });

  it('dead-letters an event too large to send and one the broker refuses for good; the others are sent in order', async () => {
    const outbox = new MemoryOutbox();
    outbox.pending = ['a', 'x'.repeat(1000), 'refused', 'b'].map((message, i) => entry(i, event(message)));
    const sent: string[] = [];
    const publisher = {
      publishSerialized: async (_t: string, es: readonly SerializedCloudEvent[]) => {
        // as kafkajs reports a record the broker will never take
        if (es.some((e) => messageOf(e) === 'refused')) throw new Error('publish failed', { cause: { type: 'MESSAGE_TOO_LARGE' } });
        sent.push(...es.map(messageOf));
      },
    };
    const counted: string[] = [];
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher, { maxEventBytes: 700, onDeadLetter: (d) => void counted.push(d.entry.id) });
    assert.equal(await relay.relayOnce(), 4);
    assert.deepEqual(sent, ['a', 'b']);
    assert.deepEqual(outbox.dead.map((d) => [d.entry.id, d.reason.split(':')[0]]), [['1', 'EVENT_TOO_LARGE'], ['2', 'MESSAGE_TOO_LARGE']]);
    assert.deepEqual(counted, ['1', '2']);
  });

  it('never dead-letters while Kafka is merely unreachable', async () => {
    const outbox = new MemoryOutbox();
    outbox.pending = [entry(0, event('a'))];
    const publisher = { publishSerialized: async () => Promise.reject(new Error('publish failed', { cause: { type: 'NETWORK', retriable: true } })) };
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher);
    await assert.rejects(relay.relayOnce());
    assert.equal(outbox.dead.length, 0);
    assert.equal(outbox.pending.length, 1);
  });

  it('keeps retrying while Kafka refuses, then drains without losing anything', async () => {
    const outbox = new MemoryOutbox();
    outbox.pending = [0, 1, 2].map((i) => entry(i, event(String(i))));
    let failuresLeft = 3;
    const delivered: string[] = [];
    const publisher = {
      publishSerialized: async (_t: string, es: readonly SerializedCloudEvent[]) => {
        if (failuresLeft-- > 0) throw new Error('broker down');
        delivered.push(...es.map((e) => e.id));
      },
    };
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher, { idleMs: 5, maxBackoffMs: 20 });
    relay.start();
    const deadline = Date.now() + 5000;
    while (outbox.pending.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await relay.stop();
    assert.equal(outbox.pending.length, 0);
    assert.equal(delivered.length, 3);
    assert.ok(failuresLeft < 0, 'it was refused before it succeeded');
  });

  it('prunes on its interval with its retention; a failed prune neither stops pruning nor publishing', async () => {
    const outbox = new MemoryOutbox();
    outbox.pruneFailures = 2;
    const publisher = { publishSerialized: async () => undefined };
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher, { idleMs: 5, pruneIntervalMs: 20, retentionMs: 1234, pruneBatchSize: 7 });
    relay.start();
    try {
      await waitFor('prunes after failures', () => outbox.prunes.length >= 4, 5000, 10);
      outbox.pending = [entry(1, event('late'))];
      await waitFor('publishing still running', () => outbox.pending.length === 0, 5000, 10);
    } finally {
      await relay.stop();
    }
    assert.ok(outbox.prunes.every((p) => p.retentionMs === 1234 && p.batchSize === 7));
    const gaps = outbox.prunes.slice(1).map((p, i) => p.at - outbox.prunes[i].at);
    assert.ok(gaps.every((gap) => gap >= 15), `prunes ${gaps.join(', ')} ms apart, interval 20 ms`);
  });

  it('prunes once at start, then not before the interval; stop does not wait for it', async () => {
    const outbox = new MemoryOutbox();
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, { publishSerialized: async () => undefined } as unknown as CloudEventPublisher, { idleMs: 5 });
    relay.start();
    await waitFor('first prune', () => outbox.prunes.length === 1, 5000, 10);
    await new Promise((r) => setTimeout(r, 100));
    const stopping = Date.now();
    await relay.stop();
    assert.equal(outbox.prunes.length, 1, 'the default interval is a minute');
    assert.ok(Date.now() - stopping < 5000, 'stop cut the pause short');
    assert.equal(outbox.prunes[0].retentionMs, 3_600_000, 'an hour by default');
  });

  it('keeps a wake that comes while a batch is published: the events appended meanwhile go at once, not after the idle pause', async () => {
    const outbox = new MemoryOutbox();
    outbox.pending = [entry(0, event('first'))];
    const sent: string[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let sending = false;
    const publisher = {
      publishSerialized: async (_t: string, es: readonly SerializedCloudEvent[]) => {
        sending = true;
        if (sent.length === 0) await firstHeld;
        sent.push(...es.map(messageOf));
      },
    };
    // an hour's pause: only the kept wake can publish the second event within the wait below
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, publisher as unknown as CloudEventPublisher, { idleMs: 3_600_000, pruneIntervalMs: 0 });
    relay.start();
    try {
      await waitFor('the first batch being sent', () => sending, 5000, 5);
      // an ownership write lands while its relay is still sending the batch it took before
      outbox.pending.push(entry(1, event('appended meanwhile')));
      relay.wake();
      releaseFirst();
      await waitFor('the event appended meanwhile published', () => sent.length === 2, 5000, 5);
      assert.deepEqual(sent, ['first', 'appended meanwhile']);
    } finally {
      await relay.stop();
    }
  });

  it('does not prune when the interval is 0', async () => {
    const outbox = new MemoryOutbox();
    const relay = new OutboxRelay(outbox as unknown as OutboxStore, { publishSerialized: async () => undefined } as unknown as CloudEventPublisher, { idleMs: 5, pruneIntervalMs: 0 });
    relay.start();
    await new Promise((r) => setTimeout(r, 50));
    await relay.stop();
    assert.equal(outbox.prunes.length, 0);
  });
});

describe('outboxRelayOptions', () => {
  it("relays only the service's own topics, with the default pause and gathering unless the module sets them", () => {
    assert.deepEqual(outboxRelayOptions('token-service', true), { topics: topicsProducedBy('token-service') });
    assert.deepEqual(outboxRelayOptions('authz-service', { idleMs: 2000, gatherMs: 10_000 }), { topics: topicsProducedBy('authz-service'), idleMs: 2000, gatherMs: 10_000 });
  });
});

describe('kafkajs, as patched (patches/kafkajs+2.2.4.patch)', () => {
  /** A produce request (v3's fields), framed as kafkajs sends it on the wire. */
  async function framedProduce(produceRequest: object, clientId = 'test', correlationId = 7): Promise<Buffer> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const produce = require('kafkajs/src/protocol/requests/produce/v3/request') as (r: object) => { encode(): Promise<unknown> };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const frame = require('kafkajs/src/protocol/request') as (r: object) => Promise<{ buffer: Buffer }>;
    return (await frame({ correlationId, clientId, request: produce(produceRequest) })).buffer;
  }
  /** `messages` to partition 0 of topic t, framed. */
  const framedProduceRequest = (messages: object[]) => framedProduce({ acks: -1, timeout: 10_000, topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages }] }] });
  /** `count` CloudEvent messages as the relay sends them, each with `message` as its data's text. */
  const cloudEventMessages = (count: number, message: string) => {
    const event = createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message } });
    return Array.from({ length: count }, (_, i) => ({ ...serializedCloudEventMessage({ id: String(i), type: event.type, key: `subject-${i}`, json: JSON.stringify(event) }), timestamp: 1_700_000_000_000 + i }));
  };
  /** framedProduceRequest(messages) with Buffer.allocUnsafe replaced by `allocUnsafe` (given the original) meanwhile. */
  async function framedWithAllocUnsafe(messages: object[], allocUnsafe: (size: number, original: typeof Buffer.allocUnsafe) => ReturnType<typeof Buffer.allocUnsafe>): Promise<Buffer> {
    const original = Buffer.allocUnsafe;
    Buffer.allocUnsafe = (size: number) => allocUnsafe(size, original);
    try {
      return Buffer.from(await framedProduceRequest(messages));
    } finally {
      Buffer.allocUnsafe = original;
    }
  }

  // kafkajs 2.2.4 re-armed a 0 ms timer forever on every idle broker connection (tulios/kafkajs#1556):
  // ~5% of a core per idle service process. The patch schedules a check only when a request waits.
  it('an idle request queue schedules no timer', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const RequestQueue = require('kafkajs/src/network/requestQueue') as new (options: object) => {
      scheduleCheckPendingRequests(): void;
      throttleCheckTimeoutId: unknown;
      pending: unknown[];
    };
    const noop = () => undefined;
    const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b', logger: { debug: noop, info: noop, warn: noop, error: noop }, isConnected: () => true });
    assert.equal(queue.pending.length, 0);
    queue.scheduleCheckPendingRequests();
    const timer = queue.throttleCheckTimeoutId;
    clearTimeout(timer as NodeJS.Timeout); // unpatched, the loop would keep this test's process alive
    assert.equal(timer, null);
  });

  // The Encoder takes unzeroed buffers (Buffer.allocUnsafe: 15 µs a record became 9). Unzeroed memory
  // may hold anything the process had there; none of it may reach Kafka. Encoded once over buffers
  // full of 0xAA, a whole produce request must be byte for byte the one encoded over zeroed buffers.
  it('an encoded produce request holds only the bytes written, whatever the buffers held before', async () => {
    const messages = cloudEventMessages(40, 'é'.repeat(700));
    const encodeOver = async (fill: number) => {
      let calls = 0;
      const bytes = await framedWithAllocUnsafe(messages, (size) => {
        calls++;
        return Buffer.alloc(size, fill);
      });
      return { bytes, calls };
    };
    const zeroed = await encodeOver(0);
    const dirty = await encodeOver(0xaa);
    assert.ok(dirty.calls >= 2, `the Encoder takes its buffers from Buffer.allocUnsafe (${dirty.calls} calls)`);
    assert.ok(zeroed.bytes.length > 40 * 700);
    assert.ok(dirty.bytes.equals(zeroed.bytes), 'no byte of the buffers before the encoding is in the request');
  });

  // The patches change how kafkajs builds a request, never its bytes: a fixed produce request must
  // encode exactly as unpatched kafkajs 2.2.4 encodes it (36,516 bytes, this SHA-256).
  it('encodes a produce request byte for byte as unpatched kafkajs 2.2.4 does', async () => {
    const json = JSON.stringify({ specversion: '1.0', id: '0b8f7a8e-5d0c-4a43-9a6e-3f1d2c4b5a69', source: '/fedgate/tests', type: 'fedgate.system.test.v1', time: '2026-12-07T00:00:00.000Z', subject: 's', data: { message: 'é'.repeat(300) } });
    const messages = Array.from({ length: 40 }, (_, i) => ({
      key: `subject-${i}`,
      value: json,
      headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8', ce_id: String(i), ce_type: 'fedgate.system.test.v1' },
      timestamp: 1_700_000_000_000 + i * 997,
    }));
    const buffer = await framedProduceRequest(messages);
    assert.equal(buffer.length, 36_516);
    assert.equal(createHash('sha256').update(buffer).digest('hex'), 'f7a17d2b62008408c969ec175d689ec2ec2039942b4d018e63cdfdb24d423341');
  });

  // The same for a request over two topics and three partitions, transactional, with null, string and
  // Buffer keys, Buffer values and a header of two values: unpatched kafkajs 2.2.4's bytes.
  it('encodes a produce request of several topics and partitions byte for byte as unpatched kafkajs 2.2.4 does', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Long = require('kafkajs/src/utils/long') as { fromValue(v: number): unknown };
    const json = (i: number) => JSON.stringify({ specversion: '1.0', id: `id-${i}`, source: '/fedgate/tests', type: 'fedgate.authz.decision.v1', time: '2026-12-07T00:00:00.000Z', subject: `s-${i % 3}`, data: { note: 'ü'.repeat(40 * (i % 5)) } });
    const message = (i: number) => ({
      key: i % 4 === 3 ? null : i % 4 === 2 ? Buffer.from(`s-${i}`) : `s-${i}`,
      value: i % 5 === 4 ? Buffer.from(json(i)) : json(i),
      headers: { ce_id: `id-${i}`, ...(i % 2 ? { multi: ['a', Buffer.from('bb')] } : {}) },
      timestamp: 1_700_000_000_000 + i * 1013,
    });
    const buffer = await framedProduce(
      {
        transactionalId: 'fedgate-tx',
        acks: -1,
        timeout: 30_000,
        producerId: Long.fromValue(4242),
        producerEpoch: 3,
        topicData: [
          {
            topic: 'fedgate.authz.v1',
            partitions: [
              { partition: 0, firstSequence: 17, messages: Array.from({ length: 30 }, (_, i) => message(i)) },
              { partition: 2, firstSequence: 5, messages: [message(30), message(31)] },
            ],
          },
          { topic: 'fedgate.login.v1', partitions: [{ partition: 1, messages: Array.from({ length: 7 }, (_, i) => message(40 + i)) }] },
        ],
      },
      'fedgate-relay',
      9,
    );
    assert.equal(buffer.length, 13_747);
    assert.equal(createHash('sha256').update(buffer).digest('hex'), '5213ed36f1c6a1888bdc346e70ef9fe276d1345baec7d60c96196ef0fdcfafbb');
  });

  // Unpatched, a send went through an Encoder per record, header and nesting level, each copied into
  // the next: twelve buffers past 4 KiB for this send (each a new ArrayBuffer), and a relaying
  // service's old generation filled with them. Now the payload is sized first and written once.
  it('writes a produce request into two buffers past 4 KiB: its payload and its frame', async () => {
    const large: number[] = [];
    const bytes = await framedWithAllocUnsafe(cloudEventMessages(36, 'x'.repeat(800)), (size, original) => {
      if (size >= 4096) large.push(size);
      return original(size);
    });
    assert.equal(large.length, 2, `buffers past 4 KiB: ${large.join(', ')}`);
    assert.equal(large[1], bytes.length, 'the frame is exactly the request');
    assert.ok(large[0] < bytes.length, 'the payload is exactly what it holds');
  });

  // The key's partition (murmur2, as Java clients) is what keeps one subject's events in order. The patch
  // computes it in 32-bit integers instead of a BigInt per step (a fifth of a relay's allocations):
  // it must give the Java client's hashes, and so the same partitions as before.
  it("hashes keys as the Java client does (Kafka's own murmur2 test vectors), so a subject keeps its partition", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const java: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of java) assert.equal(murmur2(Buffer.from(key)), hash, key);
    assert.equal(murmur2('abc'), 479470107, 'a string key hashes as its UTF-8 bytes');
  });

  it('groups a send by partition, each partition keeping the order of its messages', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const group = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: object) => Record<number, Array<{ key: string }>>;
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `subject-${i % 7}`, value: String(i) }));
    const partitionOf = ({ message }: { message: { key: string } }) => Number(message.key.slice(-1)) % 3;
    const grouped = group({ topic: 't', partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }], messages, partitioner: partitionOf });
    assert.deepEqual(Object.keys(grouped), ['0', '1', '2']);
    for (const [partition, inIt] of Object.entries(grouped)) {
      assert.deepEqual(inIt, messages.filter((m) => partitionOf({ message: m }) === Number(partition)));
    }
  });
});

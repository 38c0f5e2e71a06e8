// Integration tests against the real Kafka broker and PostgreSQL of the local stack.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FedgateEvent, TOPICS, createCloudEvent } from '@fedgate/contracts';
import { Pool } from 'pg';
import { KafkaJSNonRetriableError } from 'kafkajs';
import { OutboxStore, PrismaClient, ProcessedEventStore, createPrismaClient } from '@fedgate/database';
import { repoRoot, runProjectScript, uniqueSuffix, waitFor } from '@fedgate/testing';
import { CloudEventConsumer, type CloudEventConsumerOptions, ReceivedEvent } from './cloud-event.consumer';
import { ConsumedPositions, topicEndOffsets } from './end-offsets';
import { CloudEventPublisher } from './cloud-event.publisher';
import { onceInDatabase } from './idempotency';
import { readStackFile } from '@fedgate/stack';
import { KafkaSettings, operatorKafkaSettings } from './kafka-settings';
import { OutboxRelay } from './outbox.relay';

const settings: KafkaSettings = operatorKafkaSettings(readStackFile(), 'fedgate-tests');

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through \`npm test\``);
  return value;
}

function systemEvents(nonce: string, count: number): FedgateEvent[] {
  return Array.from({ length: count }, (_, i) =>
    createCloudEvent({ type: 'fedgate.system.test.v1', source: '/fedgate/tests', data: { message: String(i), nonce } }),
  );
}

/** A consumer (new group, from the beginning) that keeps only this run's events. */
async function startCollector(nonce: string, handle?: (events: ReceivedEvent[]) => Promise<void>, options: Partial<CloudEventConsumerOptions> = {}) {
  const received: ReceivedEvent[] = [];
  const consumer = new CloudEventConsumer(settings, {
    ...options,
    groupId: `fedgate-tests-${nonce}`,
    topics: [TOPICS.system],
    fromBeginning: true,
    handle: async (events) => {
      const mine = events.filter((e) => e.event.subject === `system:${nonce}`);
      received.push(...mine);
      if (handle && mine.length > 0) await handle(mine);
      for (const message of events) positions.record(message);
    },
  });
  const positions = new ConsumedPositions();
  await consumer.start();
  return { consumer, received, positions };
}

describe('Kafka: CloudEvents through the real broker', () => {
  const publisher = new CloudEventPublisher(settings);
  after(() => publisher.onModuleDestroy());

  it('publishes CloudEvents keyed by subject and consumes them valid and in order', async () => {
    const nonce = uniqueSuffix();
    const { consumer, received } = await startCollector(nonce);
    try {
      const events = systemEvents(nonce, 5);
      await publisher.publish(TOPICS.system, events);
      await waitFor('5 events consumed', () => received.length >= 5, 30_000);
      assert.deepEqual(received.map((r) => r.event.id), events.map((e) => e.id));
      assert.deepEqual(received[0].event, events[0]);
      assert.ok(received.every((r) => r.topic === TOPICS.system));
    } finally {
      await consumer.stop();
    }
  });
});

describe('Kafka: a consumer that kafkajs gives up on', () => {
  const publisher = new CloudEventPublisher(settings);
  after(() => publisher.onModuleDestroy());

  it('runs again after a crash kafkajs does not restart (a non-retriable error), and delivers what came meanwhile', { timeout: 60_000 }, async () => {
    const nonce = uniqueSuffix();
    let failed = false;
    const { consumer, received } = await startCollector(nonce, async () => {
      // as "Failed to find group coordinator" after a broker restart: kafkajs's crash handler
      // restarts a consumer only for retriable errors, and this one is not
      if (!failed) {
        failed = true;
        throw new KafkaJSNonRetriableError('a non-retriable failure');
      }
    });
    try {
      const first = systemEvents(nonce, 1);
      await publisher.publish(TOPICS.system, first);
      await waitFor('the handler to fail once', () => failed, 30_000);
      const later = systemEvents(nonce, 3);
      await publisher.publish(TOPICS.system, later);
      // the failed batch is redelivered (its offset was never committed), then the rest
      await waitFor('every event handled after the crash', () => [...first, ...later].every((e) => received.filter((r) => r.event.id === e.id).length >= (e === first[0] ? 2 : 1)), 30_000);
    } finally {
      await consumer.stop();
    }
  });
});

describe('Kafka: a consumer whose process was paused past its session', () => {
  const publisher = new CloudEventPublisher(settings);
  after(() => publisher.onModuleDestroy());

  it('notices that it went silent, starts again and delivers what came meanwhile', { timeout: 90_000 }, async () => {
    const nonce = uniqueSuffix();
    const { consumer, received } = await startCollector(nonce, undefined, { sessionTimeoutMs: 6000, stallMs: 4000 });
    try {
      const first = systemEvents(nonce, 1);
      await publisher.publish(TOPICS.system, first);
      await waitFor('the first event', () => received.length >= 1, 30_000);
      // the whole process stops for longer than the session, as under SIGSTOP or a frozen VM:
      // the broker drops the member, and kafkajs may never rejoin on its own
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 12_000);
      const later = systemEvents(nonce, 3);
      await publisher.publish(TOPICS.system, later);
      await waitFor('every event after the pause', () => later.every((e) => received.some((r) => r.event.id === e.id)), 45_000);
      assert.ok(consumer.restarts >= 1, 'the silence was noticed and the consumer started again');
    } finally {
      await consumer.stop();
    }
  });
});

describe('Outbox: events survive Kafka being down', () => {
  let prisma: PrismaClient;
  let pool: Pool;
  let publisher: CloudEventPublisher;

  before(() => {
    prisma = createPrismaClient(requiredEnv('FEDGATE_DATABASE_URL'), 4);
    pool = new Pool({ connectionString: requiredEnv('FEDGATE_DATABASE_URL'), max: 4 });
    publisher = new CloudEventPublisher(settings);
  });
  after(async () => {
    // whatever happened, leave the broker running for the other tests
    runProjectScript('scripts/infra/kafka.sh', ['start']);
    await publisher.onModuleDestroy();
    await prisma.$disconnect();
    await pool.end();
  });

  it('stores events while Kafka is stopped and publishes each exactly once downstream after it returns', { timeout: 240_000 }, async () => {
    assert.ok(repoRoot());
    const nonce = uniqueSuffix();
    const outbox = new OutboxStore(pool);
    const processed = new ProcessedEventStore(prisma);
    const relay = new OutboxRelay(outbox, publisher, { batchSize: 20, idleMs: 50, maxBackoffMs: 1000, topics: [TOPICS.system] });

    const stop = runProjectScript('scripts/infra/kafka.sh', ['stop']);
    assert.equal(stop.status, 0, stop.stderr);

    const committed = systemEvents(nonce, 50);
    // events are written in the same transaction as the state they describe...
    await prisma.$transaction(async (tx) => {
      await outbox.append(tx, committed);
    });
    // ...so a rolled-back transaction leaves no event behind
    const rolledBack = systemEvents(nonce, 3);
    await assert.rejects(
      prisma.$transaction(async (tx) => {
        await outbox.append(tx, rolledBack);
        throw new Error('business rule failed');
      }),
      /business rule failed/,
    );

    // while the broker is down a relay attempt fails and marks nothing published (an attempt
    // may also find the outbox's relay lock held by a service's relay: then it tries again)
    await waitFor('a relay attempt that fails while the broker is down', () => relay.relayOnce().then(() => false, () => true), 60_000, 50);
    relay.start();
    try {
      const stillPending = await prisma.outboxEvent.count({ where: { id: { in: committed.map((e) => e.id) }, publishedAt: null } });
      assert.equal(stillPending, 50);

      const start = runProjectScript('scripts/infra/kafka.sh', ['start']);
      assert.equal(start.status, 0, start.stderr);

      // downstream effect: one row per applied event, through the idempotent consumer
      const applied: string[] = [];
      const { consumer, received, positions } = await startCollector(
        nonce,
        onceInDatabase(processed, `outbox-test-${nonce}`, async (_tx, event) => {
          applied.push(event.id);
        }),
      );
      try {
        await waitFor('all 50 events applied downstream', () => applied.length >= 50, 120_000, 200);
        await waitFor('outbox drained', async () => (await prisma.outboxEvent.count({ where: { id: { in: committed.map((e) => e.id) }, publishedAt: null } })) === 0, 30_000);

        // at-least-once delivery: a relay crash between publish and commit republishes.
        // Simulate that redelivery; the consumer must not apply anything twice.
        await publisher.publish(TOPICS.system, committed.slice(0, 10));
        // the copies are on the broker (publish waited for acks): once the consumer has handled
        // the topic to its end, a second application would be in `applied`
        const ends = await topicEndOffsets(settings, TOPICS.system);
        await waitFor('redelivered copies handled', () => received.length >= 60 && positions.reached(ends), 30_000);

        assert.deepEqual([...applied].sort(), committed.map((e) => e.id).sort(), 'every committed event applied exactly once');
        assert.deepEqual(applied, committed.map((e) => e.id), 'applied in outbox order');
        assert.ok(!received.some((r) => rolledBack.some((e) => e.id === r.event.id)), 'no event of a rolled-back transaction');
      } finally {
        await consumer.stop();
      }
    } finally {
      await relay.stop();
    }
  });
});

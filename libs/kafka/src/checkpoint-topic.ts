import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { AUDIT_CHECKPOINT_TOPIC, AuditCheckpointSchema, type AuditCheckpoint } from '@fedgate/contracts';
import { kafkaClientConfig, kafkaLogCreator, type KafkaSettings } from './kafka-settings';
import { ensureTopics } from './topics';

// Reading the whole topic must not hang a start-up forever when Kafka stalls.
const READ_TIMEOUT_MS = 60_000;

/**
 * AUDIT_CHECKPOINT_TOPIC over kafkajs (the audit lib's CheckpointTopic): each checkpoint one JSON
 * message keyed by the signing key's id (logs with other keys, a test's or a benchmark's, may share
 * the topic; each reads back only its own). Created with retention.ms=-1 before the first write.
 */
export class KafkaCheckpointTopic {
  private producer: Producer | null = null;
  private readonly kafka: Kafka;

  constructor(private readonly settings: KafkaSettings, private readonly topic: string = AUDIT_CHECKPOINT_TOPIC) {
    this.kafka = new Kafka({ ...kafkaClientConfig(settings), logLevel: logLevel.WARN, logCreator: kafkaLogCreator });
  }

  async publish(checkpoints: readonly AuditCheckpoint[]): Promise<void> {
    if (checkpoints.length === 0) return;
    try {
      this.producer ??= await this.connectProducer();
      await this.producer.send({ topic: this.topic, acks: -1, messages: checkpoints.map((c) => ({ key: c.key_id, value: JSON.stringify(c) })) });
    } catch (err) {
      // a failed producer may be wedged: start afresh next time
      await this.close();
      throw err;
    }
  }

  async readAll(keyId: string): Promise<AuditCheckpoint[]> {
    await ensureTopics(this.settings, [this.topic]);
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      // offsets of the last message + 1 per partition; those with nothing to read are done
      ends = new Map((await admin.fetchTopicOffsets(this.topic)).filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    } finally {
      await admin.disconnect();
    }
    if (ends.size === 0) return [];
    // a throwaway group that commits nothing: a plain read from the beginning
    const consumer = this.kafka.consumer({ groupId: `audit-checkpoint-reader-${randomUUID()}` });
    const found: AuditCheckpoint[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reading ${this.topic} took over ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (message.key?.toString() === keyId && message.value) {
                const parsed = AuditCheckpointSchema.safeParse(JSON.parse(message.value.toString()));
                if (parsed.success && parsed.data.key_id === keyId) found.push(parsed.data);
              }
              if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) ends.delete(partition);
              if (ends.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    // a publish retried after a lost acknowledgement may have written a checkpoint twice
    const bySeq = new Map<number, AuditCheckpoint>();
    for (const c of found) if (!bySeq.has(c.seq)) bySeq.set(c.seq, c);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await producer?.disconnect().catch(() => undefined);
  }

  private async connectProducer(): Promise<Producer> {
    await ensureTopics(this.settings, [this.topic]);
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    return producer;
  }
}

import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientConfig, kafkaLogCreator, type KafkaSettings } from './kafka-settings';

/** Per partition, the offset after its last message (its high watermark) right now. */
export async function topicEndOffsets(settings: KafkaSettings, topic: string): Promise<Map<number, bigint>> {
  const admin = new Kafka({ ...kafkaClientConfig(settings), logLevel: logLevel.WARN, logCreator: kafkaLogCreator }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Where a consumer has got to: record each handled message, then ask whether it has handled
 * everything up to given end offsets. Lets a test wait for "nothing more can arrive" (a late
 * duplicate, say) as a condition instead of a pause.
 */
export class ConsumedPositions {
  private readonly next = new Map<number, bigint>();

  record(message: { partition: number; offset: string }): void {
    const after = BigInt(message.offset) + 1n;
    if (after > (this.next.get(message.partition) ?? 0n)) this.next.set(message.partition, after);
  }

  reached(ends: ReadonlyMap<number, bigint>): boolean {
    return [...ends].every(([partition, end]) => end === 0n || (this.next.get(partition) ?? 0n) >= end);
  }
}

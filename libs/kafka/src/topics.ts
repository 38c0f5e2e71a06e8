import { Kafka } from 'kafkajs';
import { TOPICS_KEPT_FOREVER, TOPIC_NAMES } from '@fedgate/contracts';
import { KafkaSettings, kafkaClientConfig, kafkaLogCreator } from './kafka-settings';

/**
 * Creates the catalogue's topics when missing (idempotent). Event-sourced topics and the audit
 * checkpoints keep every message forever (TOPICS_KEPT_FOREVER): the first are the truth that
 * projections are rebuilt from, the second the evidence a database writer cannot reach.
 */
export async function ensureTopics(settings: KafkaSettings, topics: readonly string[] = TOPIC_NAMES): Promise<void> {
  const admin = new Kafka({ ...kafkaClientConfig(settings), logCreator: kafkaLogCreator }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        configEntries: TOPICS_KEPT_FOREVER.includes(topic) ? [{ name: 'retention.ms', value: '-1' }, { name: 'cleanup.policy', value: 'delete' }] : [],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

import { Kafka } from 'kafkajs';
import { EVENT_SOURCED_TOPICS, TOPIC_NAMES, TopicName } from '@fedgate/contracts';
import { KafkaSettings, kafkaClientConfig, kafkaLogCreator } from './kafka-settings';

/**
 * Creates the catalogue's topics when missing (idempotent). Event-sourced topics keep
 * every event forever: they are the truth that projections are rebuilt from.
 */
export async function ensureTopics(settings: KafkaSettings, topics: readonly TopicName[] = TOPIC_NAMES): Promise<void> {
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
        configEntries: EVENT_SOURCED_TOPICS.includes(topic) ? [{ name: 'retention.ms', value: '-1' }, { name: 'cleanup.policy', value: 'delete' }] : [],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

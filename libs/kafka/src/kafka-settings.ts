import { Logger } from '@nestjs/common';
import { logLevel, type KafkaConfig, type RetryOptions } from 'kafkajs';

export interface KafkaSettings {
  clientId: string;
  brokers: string[];
}

export const KAFKA_SETTINGS = Symbol('KAFKA_SETTINGS');

// Short retries: callers (the outbox relay, consumers) have their own retry loops, and a
// broker outage must not block them for kafkajs's default ~30 s.
const retry: RetryOptions = { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 };

export function kafkaClientConfig(settings: KafkaSettings): KafkaConfig {
  return { clientId: settings.clientId, brokers: settings.brokers, connectionTimeout: 3000, requestTimeout: 10000, retry };
}

export function parseBrokers(list: string): string[] {
  return list.split(',').map((b) => b.trim()).filter(Boolean);
}

/** kafkajs log lines through Nest's logger (JSON in services) instead of its own format. */
export function kafkaLogCreator() {
  const logger = new Logger('kafkajs');
  return ({ level, log }: { level: logLevel; log: { message: string; [k: string]: unknown } }) => {
    const { message, ...extra } = log;
    const fields = { broker: extra['broker'], error: extra['error'], groupId: extra['groupId'] };
    if (level <= logLevel.ERROR) logger.error(fields, message);
    else if (level === logLevel.WARN) logger.warn(fields, message);
    else logger.debug(fields, message);
  };
}

import { Logger } from '@nestjs/common';
import { logLevel, type KafkaConfig, type RetryOptions } from 'kafkajs';
import type { StackFile } from '@fedgate/contracts';
import type { KafkaConfig as KafkaEnvironment } from '@fedgate/platform';

/** SASL/SCRAM credentials of one Kafka principal (the broker refuses clients without them). */
export interface KafkaCredentials {
  mechanism: 'scram-sha-512';
  username: string;
  password: string;
}

export interface KafkaSettings {
  clientId: string;
  brokers: string[];
  sasl: KafkaCredentials;
}

export const KAFKA_SETTINGS = Symbol('KAFKA_SETTINGS');

// Short retries: callers (the outbox relay, consumers) have their own retry loops, and a
// broker outage must not block them for kafkajs's default ~30 s.
const retry: RetryOptions = { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 };

export function kafkaClientConfig(settings: KafkaSettings): KafkaConfig {
  const { mechanism, username, password } = settings.sasl;
  return { clientId: settings.clientId, brokers: settings.brokers, sasl: { mechanism, username, password }, connectionTimeout: 3000, requestTimeout: 10000, retry };
}

/** A service's Kafka settings from its validated environment (FEDGATE_KAFKA_*). */
export function kafkaSettingsFromConfig(clientId: string, config: KafkaEnvironment): KafkaSettings {
  return {
    clientId,
    brokers: config.FEDGATE_KAFKA_BROKERS,
    sasl: { mechanism: config.FEDGATE_KAFKA_SASL_MECHANISM, username: config.FEDGATE_KAFKA_USERNAME, password: config.FEDGATE_KAFKA_PASSWORD },
  };
}

/** The local stack's Kafka as its operator principal (stack.json `kafka`): tools and tests. */
export function operatorKafkaSettings(stack: StackFile, clientId: string): KafkaSettings {
  return { clientId, brokers: stack.kafka.brokers, sasl: stack.kafka.sasl };
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

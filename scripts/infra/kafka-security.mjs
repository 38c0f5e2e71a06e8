// The stack's Kafka security from the topic catalogue in libs/contracts (compiled into dist/):
//   node scripts/infra/kafka-security.mjs users   each SCRAM user and its password variable, one per line
//   node scripts/infra/kafka-security.mjs acls    create the topics and make the services' ACLs exactly
//                                                the catalogue's, as the operator (FEDGATE_KAFKA_BROKERS,
//                                                FEDGATE_KAFKA_OPERATOR_PASSWORD)
// Run by scripts/infra/kafka.sh after every start, and by docker-compose.yml's kafka-acls step.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'dist', 'package.json'));
const { KAFKA_OPERATOR_PRINCIPAL, KAFKA_SCRAM_USERS, kafkaPasswordVariable } = require('@fedgate/contracts');
const { applyKafkaAcls } = require('@fedgate/kafka');
const { kafkaConfigSchema } = require('@fedgate/platform');

const command = process.argv[2];
if (command === 'users') {
  for (const user of KAFKA_SCRAM_USERS) console.log(`${user} ${kafkaPasswordVariable(user)}`);
} else if (command === 'acls') {
  const required = (name) => process.env[name] || (console.error(`${name} is not set`), process.exit(2));
  const changes = await applyKafkaAcls({
    clientId: 'fedgate-kafka-security',
    brokers: kafkaConfigSchema.shape.FEDGATE_KAFKA_BROKERS.parse(required('FEDGATE_KAFKA_BROKERS')),
    sasl: { mechanism: 'scram-sha-512', username: KAFKA_OPERATOR_PRINCIPAL, password: required(kafkaPasswordVariable(KAFKA_OPERATOR_PRINCIPAL)) },
  });
  console.error(`[fedgate] kafka: ACLs from the topic catalogue: ${changes.created} created, ${changes.deleted} deleted, ${changes.kept} kept`);
} else {
  console.error('usage: kafka-security.mjs users|acls');
  process.exit(2);
}

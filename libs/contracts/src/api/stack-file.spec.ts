import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STACK_FILE_PATH, StackFileSchema } from './stack-file';

const stack = {
  services: {
    login: 'https://localhost:8441',
    token: 'https://localhost:8442',
    authz: 'https://localhost:8443',
    audit: 'https://localhost:8444',
  },
  ca_cert: '.fedgate/tls/ca.pem',
  api_key: 'superlink-key',
  admin_api_key: 'operator-key',
  other_service: { service_name: 'superlink-b', api_key: 'superlink-b-key' },
  idp: { issuer: 'https://localhost:8440', users: [{ username: 'alice', password: 'alice-pw' }] },
  kafka: { brokers: ['localhost:9092'], sasl: { mechanism: 'scram-sha-512', username: 'fedgate-operator', password: 'operator-pw' } },
  openfga: { url: 'http://localhost:8080', store_id: '01HVMMBCMGZNT3SED4Z17ECXCA' },
  postgres: { url: 'postgresql://fedgate@localhost:5432/fedgate' },
  service_name: 'superlink',
  admin_flwr_aid: 'admin',
};

describe('.fedgate/stack.json', () => {
  it('has a fixed path', () => {
    assert.equal(STACK_FILE_PATH, '.fedgate/stack.json');
  });

  it('accepts a complete stack description', () => {
    assert.deepEqual(StackFileSchema.parse(stack), stack);
  });

  it('refuses missing services and malformed values', () => {
    const { audit: _audit, ...threeServices } = stack.services;
    const cases: Array<Record<string, unknown>> = [
      { services: threeServices },
      { kafka: { ...stack.kafka, brokers: [] } },
      { kafka: { ...stack.kafka, brokers: ['localhost'] } },
      // Kafka refuses clients without credentials: a stack file without them is of no use
      { kafka: { brokers: ['localhost:9092'] } },
      { kafka: { ...stack.kafka, sasl: { ...stack.kafka.sasl, mechanism: 'plain' } } },
      { postgres: { url: 'mysql://x' } },
      { service_name: 'super link' },
      { admin_api_key: undefined },
      { other_service: { service_name: 'a:b', api_key: 'k' } },
      { admin_flwr_aid: 'a:b' },
      { idp: { issuer: 'not a url', users: [] } },
    ];
    for (const change of cases) assert.equal(StackFileSchema.safeParse({ ...stack, ...change }).success, false, JSON.stringify(change));
  });
});

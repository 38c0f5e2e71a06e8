export * from './kafka-settings';
export * from './cloud-event.serializer';
export * from './cloud-event.publisher';
export * from './cloud-event.consumer';
export * from './idempotency';
export * from './outbox.relay';
export * from './kafka.module';
export * from './topics';

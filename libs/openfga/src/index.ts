export * from './openfga-http.client';
export * from './check-batcher';
export * from './readiness';

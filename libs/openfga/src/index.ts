export * from './openfga-client';
export * from './openfga-http.client';
export * from './check-batcher';

export * from './openfga-client';
export * from './openfga-http.client';

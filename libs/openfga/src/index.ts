export * from './openfga-client';

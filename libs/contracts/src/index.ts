/**
 * @fedgate/contracts — the single source of Fedgate's shared models:
 * accounts, tokens, run ownership and the OpenFGA vocabulary, error codes,
 * CloudEvents envelope + event/topic catalogue, and the REST DTOs with runtime
 * validation. Framework-free: only zod and node:crypto.
 */
export * from './errors';
export * from './openfga-ids';
export * from './accounts';
export * from './principals';
export * from './tokens';
export * from './runs';
export * from './authorization';
export * from './validation';
export * from './cloud-events';
export * from './event-data';
export * from './events';
export * from './api/http';
export * from './api/openapi';
export * from './api/login-api';
export * from './api/token-api';
export * from './api/authz-api';
export * from './api/openfga-check-api';
export * from './api/audit-api';
export * from './api/health-api';
export * from './api/stack-file';

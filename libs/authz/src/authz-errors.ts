import { DependencyUnavailableError, isFedgateError } from '@fedgate/contracts';
import { OpenFgaRequestError } from '@fedgate/openfga';
import { authzUnavailable } from './authorization-store';

// Errors of the PostgreSQL driver that mean "cannot answer now", not "bad request".
const DATABASE_ERROR_NAMES = new Set(['PrismaClientInitializationError', 'PrismaClientRustPanicError', 'PrismaClientUnknownRequestError', 'DriverAdapterError']);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '08000', '08001', '08003', '08006']);

/**
 * The one mapping of the authorization service's failures to stable codes: Fedgate errors as
 * they are; OpenFGA failing → 503 authz_unavailable; PostgreSQL unreachable → 503
 * dependency_unavailable (fail closed: nothing is answered from a half-known state); anything
 * else stays unexpected (500, logged).
 */
export function toAuthzError(err: unknown): unknown {
  if (isFedgateError(err)) return err;
  if (err instanceof OpenFgaRequestError) return authzUnavailable(err);
  const { name, code } = (err ?? {}) as { name?: string; code?: string };
  if ((name && DATABASE_ERROR_NAMES.has(name)) || (code && CONNECTION_CODES.has(code))) {
    return new DependencyUnavailableError('dependency_unavailable', 'postgres', 'The authorization database cannot answer; retry.', { cause: err });
  }
  return err;
}

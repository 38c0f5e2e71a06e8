import { BatchCheckRequestSchema, CheckRequestSchema, parseOrThrow } from '@fedgate/contracts';
import { BatchCheck, CheckAccess, toAuthzError } from '@fedgate/authz';
import type { FastJsonRoute } from '@fedgate/platform';

/** Runs a handler with the service's error mapping (what AuthzErrorsInterceptor does for controllers). */
async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toAuthzError(err);
  }
}

/**
 * The checks a SuperLink makes on every CLI request, answered on the platform's fast path
 * (FastJsonRoute) with the same use cases, validation and error mapping as AuthzController,
 * which still serves them for requests the fast path leaves to Express.
 */
export function fastCheckRoutes(checkAccess: CheckAccess, batchCheck: BatchCheck): FastJsonRoute[] {
  return [
    { path: '/v1/check', handle: (body, { origin }) => mapped(() => checkAccess.execute(parseOrThrow(CheckRequestSchema, body), origin)) },
    { path: '/v1/check/batch', handle: (body, { origin }) => mapped(() => batchCheck.execute(parseOrThrow(BatchCheckRequestSchema, body), origin)) },
  ];
}

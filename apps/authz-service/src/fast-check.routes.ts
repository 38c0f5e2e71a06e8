import { BatchCheckRequestSchema, CheckRequestSchema, parseOrThrow } from '@fedgate/contracts';
import { BatchCheck, CheckAccess, toAuthzError } from '@fedgate/authz';
import type { FastJsonRoute } from '@fedgate/platform';

/**
 * The checks a SuperLink makes on every CLI request, answered on the platform's fast path
 * (FastJsonRoute) with the same use cases, validation and error mapping as AuthzController,
 * which still serves them for requests the fast path leaves to Express.
 */
export function fastCheckRoutes(checkAccess: CheckAccess, batchCheck: BatchCheck): FastJsonRoute[] {
  const mapped = <T>(work: () => Promise<T>) => work().catch((err: unknown) => Promise.reject(toAuthzError(err)));
  return [
    { path: '/v1/check', handle: (body, { origin }) => mapped(() => checkAccess.execute(parseOrThrow(CheckRequestSchema, body), origin)) },
    { path: '/v1/check/batch', handle: (body, { origin }) => mapped(() => batchCheck.execute(parseOrThrow(BatchCheckRequestSchema, body), origin)) },
  ];
}

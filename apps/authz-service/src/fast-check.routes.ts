import { AuthorizeRequestSchema, BatchCheckRequestSchema, CheckRequestSchema, parseOrThrow } from '@fedgate/contracts';
import { Authorize, BatchCheck, CheckAccess, type Caller } from '@fedgate/authz';
import { FastJsonReply, type FastJsonRoute, type FastRouteContext } from '@fedgate/platform';

/** The same Caller as the controllers' CallingKey: the authenticated key and the address. */
const callerOf = ({ client, origin }: FastRouteContext): Caller => ({ key: client, origin });

/**
 * The calls a SuperLink makes on every CLI request, answered on the platform's fast path
 * (FastJsonRoute) with the same use cases, validation and error mapping as AuthzController,
 * which still serves them for requests the fast path leaves to Express.
 */
export function fastCheckRoutes(authorize: Authorize, checkAccess: CheckAccess, batchCheck: BatchCheck): FastJsonRoute[] {
  return [
    {
      path: '/v1/authorize',
      handle: async (body, context) => {
        const answer = await authorize.execute(parseOrThrow(AuthorizeRequestSchema, body), callerOf(context));
        return answer.status === 200 ? answer.body : new FastJsonReply(answer.status, answer.body);
      },
    },
    { path: '/v1/check', handle: (body, context) => checkAccess.execute(parseOrThrow(CheckRequestSchema, body), callerOf(context)) },
    { path: '/v1/check/batch', handle: (body, context) => batchCheck.execute(parseOrThrow(BatchCheckRequestSchema, body), callerOf(context)) },
  ];
}

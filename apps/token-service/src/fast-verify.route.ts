import { VerifyRequestSchema, parseOrThrow, type RequestOrigin } from '@fedgate/contracts';
import { FastJsonReply, requireKeyRole, type FastJsonRoute, type KeyRefusals } from '@fedgate/platform';
import { TokenRejectedError, VerifyAccessToken, toActiveVerifyResult, toInactiveVerifyResult } from '@fedgate/token-verification';

/** `POST /v1/verify`'s answer: valid → 200 {active:true, account, scope, expires_at}; refused → 401 {active:false, error}. */
export async function verifyAnswer(verifyToken: VerifyAccessToken, accessToken: string, origin: RequestOrigin): Promise<FastJsonReply> {
  try {
    return new FastJsonReply(200, toActiveVerifyResult(await verifyToken.execute(accessToken, origin)));
  } catch (err) {
    if (!(err instanceof TokenRejectedError)) throw err;
    return new FastJsonReply(401, toInactiveVerifyResult(err));
  }
}

/**
 * `POST /v1/verify`, called on every CLI request a SuperLink receives, on the platform's fast
 * path (FastJsonRoute); TokenController.verify serves the requests the fast path leaves to
 * Express. Both answer through verifyAnswer, for SuperLink keys only (SuperlinkKeyGuard's rule).
 */
export function fastVerifyRoutes(verifyToken: VerifyAccessToken, refusals: KeyRefusals): FastJsonRoute[] {
  return [
    {
      path: '/v1/verify',
      handle: async (body, { client, origin }) => {
        await requireKeyRole(client, 'superlink', 'POST /v1/verify', origin, refusals);
        return verifyAnswer(verifyToken, parseOrThrow(VerifyRequestSchema, body).access_token, origin);
      },
    },
  ];
}

import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyRequest as Request } from 'fastify';
import { API_PATHS, DEVICE_CODE_GRANT_TYPE, FedgateError } from '@fedgate/contracts';
import type { AuthenticatedRequest } from '@fedgate/platform';

/** The login operation a request is, whichever form (/v1 JSON or /oauth2 RFC form) it comes in. */
function operationOf(req: Request): string {
  const route = req.routeOptions.url;
  if (route === API_PATHS.login.deviceAuthorize || route === API_PATHS.login.oauthDeviceAuthorization) return 'device_authorization';
  if (route === API_PATHS.login.deviceToken) return 'device_token';
  if (route === API_PATHS.login.refresh) return 'refresh';
  const grant = (req.body as { grant_type?: unknown } | undefined)?.grant_type;
  return grant === DEVICE_CODE_GRANT_TYPE ? 'device_token' : 'refresh';
}

/**
 * Rate limits for the unauthenticated login calls (device authorization, token polling,
 * refresh; /v1 and /oauth2 forms share one budget per operation), per calling client and
 * source address, through @nestjs/throttler: past the limit, 429 `too_many_requests` with
 * `Retry-After` (seconds). The client is the API key's client (/v1, after ApiKeyGuard) or the
 * form's client_id (/oauth2).
 * Counters live in the process (one login-service instance: exact; several: per instance).
 */
@Injectable()
export class LoginRateLimitGuard extends ThrottlerGuard {
  protected override async getTracker(req: Request): Promise<string> {
    const keyClient = (req as AuthenticatedRequest).apiClient?.client_id;
    const formClient = (req.body as { client_id?: unknown } | undefined)?.client_id;
    const client = keyClient !== undefined ? `key:${keyClient}` : typeof formClient === 'string' ? `client:${formClient.slice(0, 128)}` : 'anonymous';
    return `${client}|${req.ip}`;
  }

  protected override generateKey(context: ExecutionContext, tracker: string, name: string): string {
    return `${name}|${operationOf(context.switchToHttp().getRequest<Request>())}|${tracker}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new FedgateError('too_many_requests', `Too many requests; retry in ${Math.max(1, Math.ceil(detail.timeToBlockExpire))} s.`);
  }
}

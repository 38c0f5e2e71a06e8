import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Caller } from '@fedgate/authz';
import type { AuthenticatedRequest } from '@fedgate/platform';

/**
 * The Caller of a request: its key (ApiKeyGuard / OptionalApiKeyGuard ran before) and the
 * caller's address. The person is added by the handlers that take one (PersonFromBearer).
 */
export const CallingKey = createParamDecorator((_: unknown, context: ExecutionContext): Caller => {
  const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
  const key = req.apiClient;
  return { key, origin: { client_id: key?.client_id ?? 'person', source_ip: req.ip } };
});

/** The bearer token of `Authorization: Bearer <access token>`, if the request carries one. */
export function bearerToken(req: { headers: { authorization?: string } }): string | undefined {
  return /^Bearer ([\x21-\x7e]{1,16384})$/.exec(req.headers.authorization ?? '')?.[1];
}

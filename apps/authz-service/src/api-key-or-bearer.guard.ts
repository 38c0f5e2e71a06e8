import { ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { API_KEY_HEADER } from '@fedgate/contracts';
import { ApiKeyGuard } from '@fedgate/platform';

/**
 * The API key as OpenFGA clients send a preshared key (`Authorization: Bearer <key>`), or in
 * x-fedgate-key; checked exactly like every /v1 call.
 */
@Injectable()
export class ApiKeyOrBearerGuard extends ApiKeyGuard {
  override canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const bearer = /^Bearer ([\x21-\x7e]{1,512})$/.exec(req.headers.authorization ?? '')?.[1];
    if (req.headers[API_KEY_HEADER] === undefined && bearer) req.headers[API_KEY_HEADER] = bearer;
    return super.canActivate(context);
  }
}

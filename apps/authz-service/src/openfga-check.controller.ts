import { Controller, ExecutionContext, HttpCode, Inject, Injectable, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_HEADER, API_PATHS, routePattern, OpenFgaCheckParamsSchema, OpenFgaCheckRequestSchema, parseOrThrow } from '@fedgate/contracts';
import { OpenFgaCompatibleCheck, RebuildProjections, Refusals, type Caller } from '@fedgate/authz';
import { ApiKeyGuard, validBody } from '@fedgate/platform';
import { CallingKey } from './caller';

/**
 * The API key as OpenFGA clients send a preshared key (`Authorization: Bearer <key>`), or in
 * x-fedgate-key; checked exactly like every /v1 call.
 */
@Injectable()
export class ApiKeyOrBearerGuard extends ApiKeyGuard {
  override canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const bearer = /^Bearer ([\x21-\x7e]{1,512})$/.exec(req.headers.authorization ?? '')?.[1];
    if (req.headers[API_KEY_HEADER] === undefined && bearer) req.headers[API_KEY_HEADER] = bearer;
    return super.canActivate(context);
  }
}

/** OpenFGA's Check API, for SuperLinks configured with an OpenFGA `authz_url`. */
@Controller()
@UseGuards(ApiKeyOrBearerGuard)
export class OpenFgaCheckController {
  constructor(@Inject(OpenFgaCompatibleCheck) private readonly openFgaCheck: OpenFgaCompatibleCheck) {}

  /** OpenFGA's answer `{allowed, resolution}`; the decision id travels in `x-fedgate-decision-id`. */
  @Post(routePattern(API_PATHS.authz.openfgaCheck))
  @HttpCode(200)
  async check(@Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CallingKey() caller: Caller) {
    const { store_id } = parseOrThrow(OpenFgaCheckParamsSchema, req.params);
    const { decision_id, ...answer } = await this.openFgaCheck.execute(store_id, validBody(req, 'json', OpenFgaCheckRequestSchema), caller);
    res.header('x-fedgate-decision-id', decision_id);
    return answer;
  }
}

/**
 * Operations on the projections (`fedgate authz rebuild`). A rebuild wipes every tuple before
 * replaying the topic, so it takes a key with the authz-admin role, not just any client's key;
 * any other key is refused (403) and the refusal audited under its name.
 */
@Controller()
@UseGuards(ApiKeyGuard)
export class AdminController {
  constructor(
    @Inject(RebuildProjections) private readonly rebuildProjections: RebuildProjections,
    @Inject(Refusals) private readonly refusals: Refusals,
  ) {}

  @Post(API_PATHS.authz.rebuild)
  @HttpCode(200)
  async rebuild(@CallingKey() caller: Caller) {
    await this.refusals.requireKeyRole(caller, ['authz-admin'], null, { action: 'rebuild' });
    return this.rebuildProjections.execute();
  }
}

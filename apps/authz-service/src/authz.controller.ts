import { Controller, Delete, Get, HttpCode, Inject, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  BatchCheckRequestSchema,
  CheckRequestSchema,
  DeleteRunMemberRequestSchema,
  DeleteServiceMemberRequestSchema,
  ListRunsQuerySchema,
  PutRunMemberRequestSchema,
  PutServiceMemberRequestSchema,
  RegisterRunRequestSchema,
  RunMemberParamsSchema,
  ServiceMemberParamsSchema,
  parseOrThrow,
} from '@fedgate/contracts';
import { BatchCheck, CheckAccess, GrantServiceAccess, ListRuns, RegisterRun, RevokeServiceAccess, ShareRun, UnshareRun, type DecisionOrigin } from '@fedgate/authz';
import { ApiKeyGuard, RequestOrigin, validBody } from '@fedgate/platform';

/** The v1 REST API of ../shared/API.md § authz-service. */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class AuthzController {
  constructor(
    @Inject(CheckAccess) private readonly checkAccess: CheckAccess,
    @Inject(BatchCheck) private readonly batchCheck: BatchCheck,
    @Inject(RegisterRun) private readonly registerRun: RegisterRun,
    @Inject(ListRuns) private readonly listRuns: ListRuns,
    @Inject(ShareRun) private readonly shareRun: ShareRun,
    @Inject(UnshareRun) private readonly unshareRun: UnshareRun,
    @Inject(GrantServiceAccess) private readonly grantAccess: GrantServiceAccess,
    @Inject(RevokeServiceAccess) private readonly revokeAccess: RevokeServiceAccess,
  ) {}

  @Post('check')
  @HttpCode(200)
  check(@Req() req: Request, @RequestOrigin() origin: DecisionOrigin) {
    return this.checkAccess.execute(validBody(req, 'json', CheckRequestSchema), origin);
  }

  @Post('check/batch')
  @HttpCode(200)
  batch(@Req() req: Request, @RequestOrigin() origin: DecisionOrigin) {
    return this.batchCheck.execute(validBody(req, 'json', BatchCheckRequestSchema), origin);
  }

  /** 201 when registered now, 200 when the same owner registers it again. */
  @Post('runs')
  async register(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const { created, ...answer } = await this.registerRun.execute(validBody(req, 'json', RegisterRunRequestSchema));
    res.status(created ? 201 : 200);
    return answer;
  }

  @Get('runs')
  runs(@Req() req: Request) {
    return this.listRuns.execute(parseOrThrow(ListRunsQuerySchema, req.query));
  }

  @Put('runs/:run_id/members/:flwr_aid')
  share(@Req() req: Request, @RequestOrigin() origin: DecisionOrigin) {
    const params = parseOrThrow(RunMemberParamsSchema, req.params);
    return this.shareRun.execute({ ...params, ...validBody(req, 'json', PutRunMemberRequestSchema) }, origin);
  }

  @Delete('runs/:run_id/members/:flwr_aid')
  @HttpCode(200)
  unshare(@Req() req: Request, @RequestOrigin() origin: DecisionOrigin) {
    const params = parseOrThrow(RunMemberParamsSchema, req.params);
    return this.unshareRun.execute({ ...params, ...validBody(req, 'json', DeleteRunMemberRequestSchema) }, origin);
  }

  @Put('services/:service/members/:flwr_aid')
  grant(@Req() req: Request, @RequestOrigin() origin: DecisionOrigin) {
    const params = parseOrThrow(ServiceMemberParamsSchema, req.params);
    return this.grantAccess.execute({ ...params, ...validBody(req, 'json', PutServiceMemberRequestSchema) }, origin);
  }

  @Delete('services/:service/members/:flwr_aid')
  @HttpCode(200)
  revoke(@Req() req: Request, @RequestOrigin() origin: DecisionOrigin) {
    const params = parseOrThrow(ServiceMemberParamsSchema, req.params);
    return this.revokeAccess.execute({ ...params, ...validBody(req, 'json', DeleteServiceMemberRequestSchema) }, origin);
  }
}

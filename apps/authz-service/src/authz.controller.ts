import { Controller, Delete, Get, HttpCode, Inject, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply as Response, FastifyRequest as Request } from 'fastify';
import {
  API_PATHS,
  AuthorizeRequestSchema,
  BatchCheckRequestSchema,
  CheckRequestSchema,
  DeleteRunMemberRequestSchema,
  DeleteServiceMemberRequestSchema,
  ListRunsQuerySchema,
  PutRunMemberRequestSchema,
  PutServiceMemberRequestSchema,
  RegisterRunRequestSchema,
  RunMemberParamsSchema,
  RunMembersQuerySchema,
  RunParamsSchema,
  ServiceMemberParamsSchema,
  ServiceMembersQuerySchema,
  ServiceParamsSchema,
  parseOrThrow,
  routePattern,
} from '@fedgate/contracts';
import {
  Authorize,
  BatchCheck,
  CheckAccess,
  GrantServiceAccess,
  ListRunMembers,
  ListRuns,
  ListServiceMembers,
  RegisterRun,
  RevokeServiceAccess,
  ShareRun,
  UnshareRun,
  type Caller,
} from '@fedgate/authz';
import { ApiKeyGuard, OptionalApiKeyGuard, validBody } from '@fedgate/platform';
import { bearerToken, CallingKey } from './caller';
import { PersonVerifier } from './person-verifier';

/** An optional body (DELETE): absent or empty is `{}`, anything else must be JSON of the schema. */
function optionalBody<T>(req: Request, parse: (req: Request) => T): T | Record<string, never> {
  return req.headers['content-length'] === undefined || req.headers['content-length'] === '0' ? {} : parse(req);
}

/** The SuperLink's calls (API.md § authz-service): a service key always, scoped to its services. */
@Controller()
@UseGuards(ApiKeyGuard)
export class AuthzController {
  constructor(
    @Inject(Authorize) private readonly authorizeUseCase: Authorize,
    @Inject(CheckAccess) private readonly checkAccess: CheckAccess,
    @Inject(BatchCheck) private readonly batchCheck: BatchCheck,
    @Inject(RegisterRun) private readonly registerRun: RegisterRun,
  ) {}

  /** 200 `{allowed, decision_id, account}`; 401 `{allowed:false, error}` for a refused token. */
  @Post(API_PATHS.authz.authorize)
  @HttpCode(200)
  async authorize(@Req() req: Request, @Res({ passthrough: true }) res: Response, @CallingKey() caller: Caller) {
    const answer = await this.authorizeUseCase.execute(validBody(req, 'json', AuthorizeRequestSchema), caller);
    res.status(answer.status);
    return answer.body;
  }

  @Post(API_PATHS.authz.check)
  @HttpCode(200)
  check(@Req() req: Request, @CallingKey() caller: Caller) {
    return this.checkAccess.execute(validBody(req, 'json', CheckRequestSchema), caller);
  }

  @Post(API_PATHS.authz.batchCheck)
  @HttpCode(200)
  batch(@Req() req: Request, @CallingKey() caller: Caller) {
    return this.batchCheck.execute(validBody(req, 'json', BatchCheckRequestSchema), caller);
  }

  /** 201 when registered now, 200 when the same owner registers it again. */
  @Post(API_PATHS.authz.runs)
  async register(@Req() req: Request, @Res({ passthrough: true }) res: Response, @CallingKey() caller: Caller) {
    const { created, ...answer } = await this.registerRun.execute(validBody(req, 'json', RegisterRunRequestSchema), caller);
    res.status(created ? 201 : 200);
    return answer;
  }
}

/**
 * The calls a person makes with their own token (`fedgate authz ...`), with or without a key:
 * the acting person is whoever the bearer token proves; a key sent along must act for the
 * service concerned; an `authz-admin` key alone may manage its services' members.
 */
@Controller()
@UseGuards(OptionalApiKeyGuard)
export class MembershipController {
  constructor(
    @Inject(PersonVerifier) private readonly persons: PersonVerifier,
    @Inject(ListRuns) private readonly listRuns: ListRuns,
    @Inject(ShareRun) private readonly shareRun: ShareRun,
    @Inject(UnshareRun) private readonly unshareRun: UnshareRun,
    @Inject(ListRunMembers) private readonly runMembers: ListRunMembers,
    @Inject(GrantServiceAccess) private readonly grantAccess: GrantServiceAccess,
    @Inject(RevokeServiceAccess) private readonly revokeAccess: RevokeServiceAccess,
    @Inject(ListServiceMembers) private readonly serviceMembers: ListServiceMembers,
  ) {}

  private async withPerson(req: Request, caller: Caller): Promise<Caller> {
    const token = bearerToken(req);
    return token === undefined ? caller : { ...caller, person: await this.persons.verify(token, caller) };
  }

  @Get(API_PATHS.authz.runs)
  async runs(@Req() req: Request, @CallingKey() caller: Caller) {
    const query = parseOrThrow(ListRunsQuerySchema, req.query);
    return this.listRuns.execute(query, await this.withPerson(req, caller));
  }

  @Get(routePattern(API_PATHS.authz.runMembers))
  async listRunMembers(@Req() req: Request, @CallingKey() caller: Caller) {
    const { run_id } = parseOrThrow(RunParamsSchema, req.params);
    const query = parseOrThrow(RunMembersQuerySchema, req.query);
    return this.runMembers.execute({ run_id, ...query }, await this.withPerson(req, caller));
  }

  @Put(routePattern(API_PATHS.authz.runMember))
  async share(@Req() req: Request, @CallingKey() caller: Caller) {
    const params = parseOrThrow(RunMemberParamsSchema, req.params);
    const body = validBody(req, 'json', PutRunMemberRequestSchema);
    return this.shareRun.execute({ ...params, ...body }, await this.withPerson(req, caller));
  }

  @Delete(routePattern(API_PATHS.authz.runMember))
  @HttpCode(200)
  async unshare(@Req() req: Request, @CallingKey() caller: Caller) {
    const params = parseOrThrow(RunMemberParamsSchema, req.params);
    const body = optionalBody(req, (r) => validBody(r, 'json', DeleteRunMemberRequestSchema));
    return this.unshareRun.execute({ ...params, ...body }, await this.withPerson(req, caller));
  }

  @Get(routePattern(API_PATHS.authz.serviceMembers))
  async listServiceMembers(@Req() req: Request, @CallingKey() caller: Caller) {
    const { service } = parseOrThrow(ServiceParamsSchema, req.params);
    parseOrThrow(ServiceMembersQuerySchema, req.query);
    return this.serviceMembers.execute({ service }, await this.withPerson(req, caller));
  }

  @Put(routePattern(API_PATHS.authz.serviceMember))
  async grant(@Req() req: Request, @CallingKey() caller: Caller) {
    const params = parseOrThrow(ServiceMemberParamsSchema, req.params);
    const { role } = validBody(req, 'json', PutServiceMemberRequestSchema);
    return this.grantAccess.execute({ ...params, role }, await this.withPerson(req, caller));
  }

  @Delete(routePattern(API_PATHS.authz.serviceMember))
  @HttpCode(200)
  async revoke(@Req() req: Request, @CallingKey() caller: Caller) {
    const params = parseOrThrow(ServiceMemberParamsSchema, req.params);
    optionalBody(req, (r) => validBody(r, 'json', DeleteServiceMemberRequestSchema));
    return this.revokeAccess.execute(params, await this.withPerson(req, caller));
  }
}

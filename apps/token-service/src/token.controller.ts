import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply as Response, FastifyRequest as Request } from 'fastify';
import { API_PATHS, IntrospectionFormSchema, TokenVerificationError, VerifyRequestSchema } from '@fedgate/contracts';
import { ApiKeyGuard, RequestOrigin, SuperlinkKeyGuard, validBody } from '@fedgate/platform';
import { TokenRejectedError, VerifyAccessToken, toActiveVerifyResult, toInactiveVerifyResult } from '@fedgate/token-verification';

/** The v1 REST API of ../shared/API.md § token-service: keyed calls for SuperLink keys only (any other key: 403, audited). */
@Controller()
export class TokenController {
  constructor(@Inject(VerifyAccessToken) private readonly verifyToken: VerifyAccessToken) {}

  /** Valid → 200 {active:true, account, scope, expires_at}; refused → 401 {active:false, error}. */
  @Post(API_PATHS.token.verify)
  @HttpCode(200)
  @UseGuards(ApiKeyGuard, SuperlinkKeyGuard)
  async verify(@Req() req: Request, @Res({ passthrough: true }) res: Response, @RequestOrigin() origin: RequestOrigin) {
    const { access_token } = validBody(req, 'json', VerifyRequestSchema);
    try {
      return toActiveVerifyResult(await this.verifyToken.execute(access_token, origin));
    } catch (err) {
      if (!(err instanceof TokenRejectedError)) throw err;
      res.status(401);
      return toInactiveVerifyResult(err);
    }
  }

  /** OIDC UserInfo for SuperLinks configured with a validate_url: the caller is the bearer. */
  @Get(API_PATHS.token.userinfo)
  async userinfo(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const token = /^Bearer ([\x21-\x7e]+)$/.exec(req.headers.authorization ?? '')?.[1];
    const origin = { client_id: 'userinfo', source_ip: req.ip };
    try {
      if (!token) throw new TokenVerificationError('invalid_token', 'An Authorization: Bearer <access token> header is required.');
      const { account } = await this.verifyToken.execute(token, origin);
      return { sub: account.flwr_aid, preferred_username: account.account_name };
    } catch (err) {
      // RFC 6750 §3: the challenge names the error
      if (err instanceof TokenVerificationError) res.header('WWW-Authenticate', `Bearer error="invalid_token", error_description="${err.code}"`);
      throw err;
    }
  }

  /** RFC 7662: {active:false} for anything not currently valid, never a reason. */
  @Post(API_PATHS.token.introspect)
  @HttpCode(200)
  @UseGuards(ApiKeyGuard, SuperlinkKeyGuard)
  async introspect(@Req() req: Request, @RequestOrigin() origin: RequestOrigin) {
    const { token } = validBody(req, 'form', IntrospectionFormSchema);
    try {
      const v = await this.verifyToken.execute(token, origin);
      return { active: true, sub: v.account.flwr_aid, username: v.account.account_name, scope: v.scope, exp: v.expires_at, token_type: 'Bearer', iss: v.iss, client_id: v.client_id };
    } catch (err) {
      if (err instanceof TokenRejectedError) return { active: false };
      throw err;
    }
  }
}

import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { IntrospectionFormSchema, TokenVerificationError, VerifyRequestSchema } from '@fedgate/contracts';
import { ApiKeyGuard, RequestOrigin, SuperlinkKeyGuard, validBody } from '@fedgate/platform';
import { TokenRejectedError, VerifyAccessToken } from '@fedgate/token-verification';
import { verifyAnswer } from './fast-verify.route';

/** The v1 REST API of ../shared/API.md § token-service: keyed calls for SuperLink keys only (any other key: 403, audited). */
@Controller('v1')
export class TokenController {
  constructor(@Inject(VerifyAccessToken) private readonly verifyToken: VerifyAccessToken) {}

  /** Valid → 200 {active:true, account, scope, expires_at}; refused → 401 {active:false, error}. */
  @Post('verify')
  @HttpCode(200)
  @UseGuards(ApiKeyGuard, SuperlinkKeyGuard)
  async verify(@Req() req: Request, @Res({ passthrough: true }) res: Response, @RequestOrigin() origin: RequestOrigin) {
    const { access_token } = validBody(req, 'json', VerifyRequestSchema);
    const answer = await verifyAnswer(this.verifyToken, access_token, origin);
    res.status(answer.status);
    return answer.body;
  }

  /** OIDC UserInfo for SuperLinks configured with a validate_url: the caller is the bearer. */
  @Get('userinfo')
  async userinfo(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const token = /^Bearer ([\x21-\x7e]+)$/.exec(req.headers.authorization ?? '')?.[1];
    const origin = { client_id: 'userinfo', source_ip: req.ip };
    try {
      if (!token) throw new TokenVerificationError('invalid_token', 'An Authorization: Bearer <access token> header is required.');
      const { account } = await this.verifyToken.execute(token, origin);
      return { sub: account.flwr_aid, preferred_username: account.account_name };
    } catch (err) {
      // RFC 6750 §3: the challenge names the error
      if (err instanceof TokenVerificationError) res.setHeader('WWW-Authenticate', `Bearer error="invalid_token", error_description="${err.code}"`);
      throw err;
    }
  }

  /** RFC 7662: {active:false} for anything not currently valid, never a reason. */
  @Post('introspect')
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

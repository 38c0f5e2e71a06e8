import { Controller, Header, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { DEVICE_CODE_GRANT_TYPE, OAuthDeviceAuthorizationFormSchema, OAuthError, OAuthTokenFormSchema, type RequestOrigin } from '@fedgate/contracts';
import { PollDeviceLogin, RefreshSession, StartDeviceLogin } from '@fedgate/login';
import { validBody } from '@fedgate/platform';
import { LoginRateLimitGuard } from './login-rate-limit.guard';

function originOf(req: Request, clientId: string | undefined): RequestOrigin {
  return { client_id: clientId ?? 'oauth2', source_ip: req.ip };
}

/**
 * RFC 8628 / RFC 6749-shaped facade over the same use-cases, for SuperLinks configured
 * with plain OIDC URLs (authn_url, token_url). Form-encoded in, RFC JSON out.
 */
@Controller('oauth2')
export class OAuth2Controller {
  constructor(
    @Inject(StartDeviceLogin) private readonly start: StartDeviceLogin,
    @Inject(PollDeviceLogin) private readonly poll: PollDeviceLogin,
    @Inject(RefreshSession) private readonly refresh: RefreshSession,
  ) {}

  @Post('device_authorization')
  @UseGuards(LoginRateLimitGuard)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async deviceAuthorization(@Req() req: Request) {
    const form = validBody(req, 'form', OAuthDeviceAuthorizationFormSchema);
    const { device_code, user_code, verification_uri, verification_uri_complete, expires_in, interval } = await this.start.execute(form.scope, originOf(req, form.client_id));
    return { device_code, user_code, verification_uri, verification_uri_complete, expires_in, interval };
  }

  @Post('token')
  @UseGuards(LoginRateLimitGuard)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async token(@Req() req: Request) {
    const grantType = (req.body as { grant_type?: unknown } | undefined)?.grant_type;
    if (req.is('application/x-www-form-urlencoded') && grantType !== DEVICE_CODE_GRANT_TYPE && grantType !== 'refresh_token') {
      // RFC 6749 §5.2 names this case
      throw new OAuthError('unsupported_grant_type', 'grant_type must be urn:ietf:params:oauth:grant-type:device_code or refresh_token.');
    }
    const form = validBody(req, 'form', OAuthTokenFormSchema);
    const tokens =
      form.grant_type === DEVICE_CODE_GRANT_TYPE
        ? await this.poll.execute(form.device_code, originOf(req, form.client_id))
        : await this.refresh.execute(form.refresh_token, originOf(req, form.client_id));
    return { access_token: tokens.access_token, token_type: tokens.token_type, expires_in: tokens.expires_in, refresh_token: tokens.refresh_token };
  }
}

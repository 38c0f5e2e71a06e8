import { Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest as Request } from 'fastify';
import { API_PATHS, DeviceAuthorizeRequestSchema, DeviceTokenRequestSchema, LogoutRequestSchema, RefreshRequestSchema } from '@fedgate/contracts';
import { Logout, PollDeviceLogin, RefreshSession, StartDeviceLogin } from '@fedgate/login';
import { ApiKeyGuard, RequestOrigin, SuperlinkKeyGuard, validBody } from '@fedgate/platform';
import { LoginRateLimitGuard } from './login-rate-limit.guard';

/**
 * The v1 REST API of ../shared/API.md § login-service, for SuperLinks and the CLI (which logs in
 * with a SuperLink's key): a key without the superlink role is refused, 403 and audited.
 */
@Controller()
@UseGuards(ApiKeyGuard, SuperlinkKeyGuard)
export class LoginController {
  constructor(
    @Inject(StartDeviceLogin) private readonly start: StartDeviceLogin,
    @Inject(PollDeviceLogin) private readonly poll: PollDeviceLogin,
    @Inject(RefreshSession) private readonly refresh: RefreshSession,
    @Inject(Logout) private readonly logout: Logout,
  ) {}

  @Post(API_PATHS.login.deviceAuthorize)
  @UseGuards(LoginRateLimitGuard)
  @HttpCode(200)
  authorize(@Req() req: Request, @RequestOrigin() origin: RequestOrigin) {
    return this.start.execute(validBody(req, 'json', DeviceAuthorizeRequestSchema).scope, origin);
  }

  @Post(API_PATHS.login.deviceToken)
  @UseGuards(LoginRateLimitGuard)
  @HttpCode(200)
  token(@Req() req: Request, @RequestOrigin() origin: RequestOrigin) {
    return this.poll.execute(validBody(req, 'json', DeviceTokenRequestSchema).device_code, origin);
  }

  @Post(API_PATHS.login.refresh)
  @UseGuards(LoginRateLimitGuard)
  @HttpCode(200)
  refreshTokens(@Req() req: Request, @RequestOrigin() origin: RequestOrigin) {
    return this.refresh.execute(validBody(req, 'json', RefreshRequestSchema).refresh_token, origin);
  }

  @Post(API_PATHS.login.logout)
  @HttpCode(204)
  async logOut(@Req() req: Request, @RequestOrigin() origin: RequestOrigin): Promise<void> {
    await this.logout.execute(validBody(req, 'json', LogoutRequestSchema), origin);
  }
}

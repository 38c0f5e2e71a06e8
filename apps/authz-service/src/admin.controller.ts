import { Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { RebuildProjections, Refusals, type Caller } from '@fedgate/authz';
import { ApiKeyGuard } from '@fedgate/platform';
import { CallingKey } from './caller';

/**
 * Operations on the projections (`fedgate authz rebuild`). A rebuild wipes every tuple before
 * replaying the topic, so it takes a key with the authz-admin role, not just any client's key;
 * any other key is refused (403) and the refusal audited under its name.
 */
@Controller('v1/admin')
@UseGuards(ApiKeyGuard)
export class AdminController {
  constructor(
    @Inject(RebuildProjections) private readonly rebuildProjections: RebuildProjections,
    @Inject(Refusals) private readonly refusals: Refusals,
  ) {}

  @Post('rebuild')
  @HttpCode(200)
  async rebuild(@CallingKey() caller: Caller) {
    await this.refusals.requireKeyRole(caller, ['authz-admin'], null, { action: 'rebuild' });
    return this.rebuildProjections.execute();
  }
}

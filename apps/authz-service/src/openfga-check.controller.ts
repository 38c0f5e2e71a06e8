import { Controller, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { OpenFgaCheckParamsSchema, OpenFgaCheckRequestSchema, parseOrThrow } from '@fedgate/contracts';
import { OpenFgaCompatibleCheck, type Caller } from '@fedgate/authz';
import { validBody } from '@fedgate/platform';
import { ApiKeyOrBearerGuard } from './api-key-or-bearer.guard';
import { CallingKey } from './caller';

/** OpenFGA's Check API, for SuperLinks configured with an OpenFGA `authz_url`. */
@Controller('stores')
@UseGuards(ApiKeyOrBearerGuard)
export class OpenFgaCheckController {
  constructor(@Inject(OpenFgaCompatibleCheck) private readonly openFgaCheck: OpenFgaCompatibleCheck) {}

  /** OpenFGA's answer `{allowed, resolution}`; the decision id travels in `x-fedgate-decision-id`. */
  @Post(':store_id/check')
  @HttpCode(200)
  async check(@Req() req: Request, @Res({ passthrough: true }) res: Response, @CallingKey() caller: Caller) {
    const { store_id } = parseOrThrow(OpenFgaCheckParamsSchema, req.params);
    const { decision_id, ...answer } = await this.openFgaCheck.execute(store_id, validBody(req, 'json', OpenFgaCheckRequestSchema), caller);
    res.setHeader('x-fedgate-decision-id', decision_id);
    return answer;
  }
}

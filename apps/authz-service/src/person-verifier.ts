import { Inject, Injectable } from '@nestjs/common';
import type { Caller, VerifiedPerson } from '@fedgate/authz';
import { VerifyAccessToken } from '@fedgate/token-verification';

/**
 * A person's own access token, verified by token-verification's use case (the same rules,
 * cache and session revocations as token-service's /v1/verify). A refused token is a 401 with
 * its `token.rejected` event; a success is recorded by the action it allows, not separately.
 */
@Injectable()
export class PersonVerifier {
  constructor(@Inject(VerifyAccessToken) private readonly verifyToken: VerifyAccessToken) {}

  async verify(accessToken: string, caller: Caller): Promise<VerifiedPerson> {
    const verified = await this.verifyToken.execute(accessToken, caller.origin, { recordSuccess: false });
    return { account: verified.account, token_hash: verified.token_hash };
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { VerifyIntegrity } from '@fedgate/audit';

export const INTEGRITY_INTERVAL_MS = Symbol('INTEGRITY_INTERVAL_MS');

/** Re-verifies the whole chain in the background (FEDGATE_AUDIT_VERIFY_INTERVAL_MS), so GET /v1/integrity need not. */
@Injectable()
export class IntegrityScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IntegrityScheduler.name);

  constructor(
    @Inject(VerifyIntegrity) private readonly verifyIntegrity: VerifyIntegrity,
    @Inject(INTEGRITY_INTERVAL_MS) private readonly intervalMs: number,
  ) {}

  onApplicationBootstrap(): void {
    this.verifyIntegrity.startBackground(this.intervalMs, (err) =>
      this.logger.warn({ reason: (err as Error).message }, 'background chain verification failed; retrying at the next interval'),
    );
  }

  onApplicationShutdown(): void {
    this.verifyIntegrity.stopBackground();
  }
}

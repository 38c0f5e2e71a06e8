import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { VerifyIntegrity } from '@fedgate/audit';

export const INTEGRITY_SCHEDULE = Symbol('INTEGRITY_SCHEDULE');

/** When and how fast the whole chain is re-verified in the background. */
export interface IntegritySchedule {
  /** FEDGATE_AUDIT_VERIFY_INTERVAL_MS: pause between the end of a full run and the next. */
  intervalMs: number;
  /** FEDGATE_AUDIT_VERIFY_ROWS_PER_SECOND: the pace of a background run. */
  rowsPerSecond: number;
}

/** Re-verifies the whole chain in the background, paced, so GET /v1/integrity need not. */
@Injectable()
export class IntegrityScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IntegrityScheduler.name);

  constructor(
    @Inject(VerifyIntegrity) private readonly verifyIntegrity: VerifyIntegrity,
    @Inject(INTEGRITY_SCHEDULE) private readonly schedule: IntegritySchedule,
  ) {}

  onApplicationBootstrap(): void {
    this.verifyIntegrity.startBackground({
      ...this.schedule,
      onError: (err) => this.logger.warn({ reason: (err as Error).message }, 'background chain verification failed; retrying at the next interval'),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.verifyIntegrity.stopBackground();
  }
}

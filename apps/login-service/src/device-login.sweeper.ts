import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ExpireDeviceLogins } from '@fedgate/login';

export const SWEEP_INTERVAL_MS = Symbol('SWEEP_INTERVAL_MS');

/** Runs ExpireDeviceLogins periodically; safe with several instances (row-level updates). */
@Injectable()
export class DeviceLoginSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeviceLoginSweeper.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(ExpireDeviceLogins) private readonly expire: ExpireDeviceLogins,
    @Inject(SWEEP_INTERVAL_MS) private readonly intervalMs: number,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.expire.execute().catch((err: Error) => this.logger.warn({ reason: err.message }, 'expiring device logins failed; will retry'));
    }, this.intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

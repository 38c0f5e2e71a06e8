import { Controller, Get, Header, HttpCode, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { READINESS_CHECKS, ReadinessCheck, runReadinessChecks } from './readiness';
import { ServiceMetrics } from './metrics';
import { metricsText } from './cluster';
import { SERVICE_NAME } from './tokens';

/** Liveness, readiness and Prometheus metrics: the same three endpoints on every service. */
@Controller()
export class OpsController {
  constructor(
    @Inject(SERVICE_NAME) private readonly serviceName: string,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
    private readonly metrics: ServiceMetrics,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  healthz() {
    return { status: 'ok', service: this.serviceName };
  }

  @Get('readyz')
  async readyz(@Res() res: Response) {
    const report = await runReadinessChecks(this.checks);
    if (report.ready) {
      res.status(200).json({ status: 'ready', service: this.serviceName, checks: report.checks });
    } else {
      res.status(503).json({
        error: 'dependency_unavailable',
        error_description: `not ready: ${Object.entries(report.checks).filter(([, s]) => s === 'down').map(([n]) => n).join(', ')}`,
        checks: report.checks,
      });
    }
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText() {
    return metricsText(this.metrics.registry);
  }
}

import { Controller, Get, Header, HttpCode, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { API_PATHS } from '@fedgate/contracts';
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

  @Get(API_PATHS.common.health)
  @HttpCode(200)
  healthz() {
    return { status: 'ok', service: this.serviceName };
  }

  @Get(API_PATHS.common.ready)
  async readyz(@Res() res: FastifyReply) {
    const report = await runReadinessChecks(this.checks);
    if (report.ready) {
      void res.status(200).send({ status: 'ready', service: this.serviceName, checks: report.checks });
    } else {
      void res.status(503).send({
        error: 'dependency_unavailable',
        error_description: `not ready: ${Object.entries(report.checks).filter(([, s]) => s === 'down').map(([n]) => n).join(', ')}`,
        checks: report.checks,
      });
    }
  }

  @Get(API_PATHS.common.metrics)
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText() {
    return metricsText(this.metrics.registry);
  }
}

import { DynamicModule, Injectable, InjectionToken, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { HttpErrorFilter } from './http-error.filter';
import { ServiceMetrics } from './metrics';
import { OpsController } from './ops.controller';
import { OPENAPI_DOCUMENT, OpenApiController } from './openapi.controller';
import { READINESS_CHECKS, ReadinessCheck } from './readiness';
import { LOG_LEVEL, SERVICE_NAME } from './tokens';
import { API_CLIENTS, ApiKeyGuard, OptionalApiKeyGuard, type ConfiguredKey } from './api-key.guard';

export interface PlatformModuleOptions {
  serviceName: string;
  logLevel?: string;
  /**
   * What gates /readyz: `inject` names providers implementing ReadinessCheck (from global
   * modules such as DatabaseModule and KafkaModule); `checks` are ready-made values.
   */
  readiness?: { inject?: InjectionToken[]; checks?: ReadinessCheck[] };
  /** FEDGATE_API_KEYS, parsed (service-config's schema): the clients ApiKeyGuard accepts (services without /v1 calls omit it). */
  apiKeys?: readonly ConfiguredKey[];
  /** The service's OpenAPI document (contracts' openApiDocument): served at /openapi.json and /docs. */
  openApi?: Readonly<Record<string, unknown>>;
}

/**
 * Fastify answers only once ready (its plugins and hooks loaded). listen() gets there; this makes
 * init() get there too, so in-process tests (init(), then requests to getHttpServer()) see the
 * whole pipeline.
 */
@Injectable()
class FastifyReadyOnBootstrap implements OnApplicationBootstrap {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  async onApplicationBootstrap(): Promise<void> {
    await (this.adapterHost.httpAdapter?.getInstance() as FastifyInstance | undefined)?.ready();
  }
}

/**
 * What every Fedgate service shares: JSON logs with request ids, /healthz, /readyz,
 * /metrics, the error filter that turns failures into stable codes, and (given `openApi`)
 * /openapi.json with its /docs page.
 */
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformModuleOptions): DynamicModule {
    const inject = options.readiness?.inject ?? [];
    return {
      module: PlatformModule,
      global: true,
      controllers: options.openApi ? [OpsController, OpenApiController] : [OpsController],
      providers: [
        ...(options.openApi ? [{ provide: OPENAPI_DOCUMENT, useValue: options.openApi }] : []),
        { provide: SERVICE_NAME, useValue: options.serviceName },
        { provide: LOG_LEVEL, useValue: options.logLevel ?? process.env.FEDGATE_LOG_LEVEL ?? 'info' },
        { provide: ServiceMetrics, useValue: new ServiceMetrics(options.serviceName) },
        { provide: READINESS_CHECKS, useFactory: (...injected: ReadinessCheck[]) => [...injected, ...(options.readiness?.checks ?? [])], inject },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: API_CLIENTS, useValue: options.apiKeys ?? [] },
        ApiKeyGuard,
        OptionalApiKeyGuard,
        FastifyReadyOnBootstrap,
      ],
      exports: [SERVICE_NAME, ServiceMetrics, API_CLIENTS, ApiKeyGuard, OptionalApiKeyGuard],
    };
  }
}

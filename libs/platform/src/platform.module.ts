import { DynamicModule, InjectionToken, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { HttpErrorFilter } from './http-error.filter';
import { ServiceMetrics } from './metrics';
import { OpsController } from './ops.controller';
import { OPENAPI_DOCUMENT, OpenApiController } from './openapi.controller';
import { READINESS_CHECKS, ReadinessCheck } from './readiness';
import { SERVICE_NAME } from './tokens';
import { pinoHttpOptions } from './logging';
import { API_CLIENTS, ApiKeyGuard, OptionalApiKeyGuard, type ConfiguredKey } from './api-key.guard';
import { FastJsonRoutes } from './fast-json-route';

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
      imports: [
        LoggerModule.forRoot({ pinoHttp: pinoHttpOptions(options.serviceName, options.logLevel ?? process.env.FEDGATE_LOG_LEVEL ?? 'info') }),
      ],
      controllers: options.openApi ? [OpsController, OpenApiController] : [OpsController],
      providers: [
        ...(options.openApi ? [{ provide: OPENAPI_DOCUMENT, useValue: options.openApi }] : []),
        { provide: SERVICE_NAME, useValue: options.serviceName },
        { provide: ServiceMetrics, useValue: new ServiceMetrics(options.serviceName) },
        { provide: READINESS_CHECKS, useFactory: (...injected: ReadinessCheck[]) => [...injected, ...(options.readiness?.checks ?? [])], inject },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: API_CLIENTS, useValue: options.apiKeys ?? [] },
        ApiKeyGuard,
        OptionalApiKeyGuard,
        { provide: FastJsonRoutes, useValue: new FastJsonRoutes() },
      ],
      exports: [SERVICE_NAME, ServiceMetrics, API_CLIENTS, ApiKeyGuard, OptionalApiKeyGuard, FastJsonRoutes],
    };
  }
}

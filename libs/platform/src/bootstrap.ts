import { readFileSync } from 'node:fs';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import type { z } from 'zod';
import { loadConfig, type ServiceConfig } from './config';
import { ServiceMetrics } from './metrics';
import { runClustered } from './cluster';
import { requestIdFor } from './logging';
import { NOT_JSON, installFastJsonRoutes } from './fast-json-route';
import { InvalidRequestError } from '@fedgate/contracts';
import bytes from 'bytes';

export interface ServiceAppOptions {
  /** TLS key and certificate (PEM). Omitted only by in-process tests that use plain HTTP. */
  tls?: { key: Buffer | string; cert: Buffer | string };
  /** Largest request body accepted, checked before parsing. */
  bodyLimit?: string;
}

/** Builds a configured (not yet listening) Nest app: the same pipeline for services and tests. */
export async function createServiceApp(appModule: Type<unknown> | DynamicModule, options: ServiceAppOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(appModule, {
    httpsOptions: options.tls,
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // API answers are not cached by clients: computing ETags is work for nothing
  app.set('etag', false);
  // the request id comes first, so even a body the parser refuses is answered with one
  app.use((req: Request & { id?: string }, res: Response, next: NextFunction) => {
    req.id = requestIdFor(req, res);
    next();
  });
  const limit = options.bodyLimit ?? '64kb';
  app.useBodyParser('json', { limit });
  app.useBodyParser('urlencoded', { limit, extended: false });
  // a body that is not JSON: one stable answer (not JSON.parse's message), as the fast routes give
  app.use((err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    next((err as { type?: string })?.type === 'entity.parse.failed' ? new InvalidRequestError(NOT_JSON) : err);
  });
  const metrics = app.get(ServiceMetrics);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.recordHttp(req.method, String(route), res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  });
  // the module's hot JSON routes (provideFastJsonRoutes), answered before Express
  installFastJsonRoutes(app, bytes.parse(limit) ?? 65_536);
  app.enableShutdownHooks();
  return app;
}

/** Starts a service over HTTPS with its validated settings; SIGTERM/SIGINT close it cleanly. */
export async function startHttpsService(
  appModule: Type<unknown> | DynamicModule,
  config: ServiceConfig,
  options: Omit<ServiceAppOptions, 'tls'> = {},
): Promise<INestApplication> {
  const app = await createServiceApp(appModule, {
    ...options,
    tls: { key: readFileSync(config.FEDGATE_TLS_KEY), cert: readFileSync(config.FEDGATE_TLS_CERT) },
  });
  await app.listen(config.FEDGATE_PORT, config.FEDGATE_HOST);
  app.get(Logger).log({ port: config.FEDGATE_PORT, host: config.FEDGATE_HOST }, 'listening over HTTPS');
  return app;
}

/**
 * A service's whole main(): validate settings, build the module from them, serve over HTTPS.
 * A failure to start is one JSON line and exit code 1, so the stack script can report it.
 */
export function runService<C extends ServiceConfig>(
  serviceName: string,
  configSchema: z.ZodType<C>,
  moduleFor: (config: C) => DynamicModule,
  /** Runs in each worker before the module is built (e.g. trusting the IdP's CA); a failure stops the start. */
  prepare?: (config: C) => Promise<void>,
): void {
  const fail = (err: Error) => {
    console.error(JSON.stringify({ level: 'fatal', service: serviceName, msg: 'failed to start', reason: err.message }));
    process.exit(1);
  };
  let config: C;
  try {
    config = loadConfig(configSchema);
  } catch (err) {
    return fail(err as Error);
  }
  runClustered(serviceName, config.FEDGATE_WORKERS, () => {
    (async () => {
      await prepare?.(config);
      await startHttpsService(moduleFor(config), config);
    })().catch(fail);
  });
}

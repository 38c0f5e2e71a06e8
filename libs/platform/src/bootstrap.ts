import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import type { z } from 'zod';
import bytes from 'bytes';
import { loadConfig, type ServiceConfig } from './config';
import { ServiceMetrics } from './metrics';
import { runClustered } from './cluster';
import { RequestLogLines, requestIdOf, serviceLogger } from './logging';
import { installBodyParsers } from './request-body';
import { installLoadShedding } from './load-shedding';
import { LOG_LEVEL, SERVICE_NAME } from './tokens';

export interface ServiceAppOptions {
  /** TLS key and certificate (PEM). Omitted only by in-process tests that use plain HTTP. */
  tls?: { key: Buffer | string; cert: Buffer | string };
  /** Largest request body accepted, checked before parsing. */
  bodyLimit?: string;
  /** Requests this process works on at once; more are answered 503 `overloaded` (FEDGATE_MAX_IN_FLIGHT). */
  maxInFlight?: number;
}

/** Builds a configured (not yet listening) Nest app on Fastify: the same pipeline for services and tests. */
export async function createServiceApp(appModule: Type<unknown> | DynamicModule, options: ServiceAppOptions = {}): Promise<INestApplication> {
  const bodyLimit = bytes.parse(options.bodyLimit ?? '64kb') ?? 65_536;
  // one pino logger for Fastify's request logs and Nest's; its service name and level come from PlatformModule
  const logger = serviceLogger('info');
  const adapter = new FastifyAdapter({
    ...(options.tls ? { https: options.tls } : {}),
    loggerInstance: logger,
    logController: new RequestLogLines(),
    genReqId: (req: IncomingMessage) => requestIdOf(req),
    bodyLimit,
  });
  const fastify = adapter.getInstance() as unknown as FastifyInstance;
  const app = await NestFactory.create<NestFastifyApplication>(appModule, adapter, { bufferLogs: true, bodyParser: false });
  // Fastify's logger (each request's is its child, made per request) gets the module's name and level
  const log = fastify.log as unknown as PinoInstance; // a pino child of `logger`
  log.setBindings({ service: app.get<string>(SERVICE_NAME) });
  log.level = app.get<string>(LOG_LEVEL);
  app.useLogger(new Logger(new PinoLogger({ pinoHttp: { logger: log } }), {}));
  const metrics = app.get(ServiceMetrics);
  // the request id first, so every answer (even a refused body, a shed request) carries it
  // (hooks take callbacks, not promises: the cheaper form on every request)
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  installLoadShedding(fastify, options.maxInFlight);
  installBodyParsers(fastify, bodyLimit);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.recordHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  // process.exit rather than dying by the signal again: the exit hook writes the log lines still buffered
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  return app;
}

/** Starts a service over HTTPS with its validated settings; SIGTERM/SIGINT close it cleanly. */
export async function startHttpsService(
  appModule: Type<unknown> | DynamicModule,
  config: ServiceConfig,
  options: Omit<ServiceAppOptions, 'tls'> = {},
): Promise<INestApplication> {
  const app = await createServiceApp(appModule, {
    maxInFlight: config.FEDGATE_MAX_IN_FLIGHT,
    ...options,
    tls: { key: readFileSync(config.FEDGATE_TLS_KEY), cert: readFileSync(config.FEDGATE_TLS_CERT) },
  });
  await app.listen(config.FEDGATE_PORT, config.FEDGATE_HOST);
  (app.getHttpAdapter().getInstance() as FastifyInstance).log.info({ port: config.FEDGATE_PORT, host: config.FEDGATE_HOST }, 'listening over HTTPS');
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

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import { pathOf } from './request-path';

// An incoming x-request-id is kept only when it is short and plain, so callers cannot
// inject log content through it.
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The request's id: the caller's x-request-id when it is safe to log, else a new UUID (Fastify's genReqId). */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

const asIs = (value: unknown) => value;

/** Paths answered often and by machines (probes, scrapes): no request line for them. */
export const UNLOGGED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

// Lines are gathered up to LOG_BUFFER_BYTES and written at most LOG_FLUSH_MS after they were
// logged, instead of one asynchronous write (and thread-pool hand-off) per line: 68–72 µs of CPU
// per line at 1,000 lines/s, 21–25 µs buffered (bench/README.md, session 12). A stop by signal
// exits through process.exit (createServiceApp), whose exit hook writes out what is left; a
// kill -9 loses at most the last LOG_FLUSH_MS of lines (the audit log is the durable record).
const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 250;

/**
 * The service's pino logger, which Fastify uses for its request logs and Nest for the rest:
 * structured JSON lines. Requests are logged without headers, bodies or query strings (see
 * requestLogLine): those are where tokens and keys travel; the redact paths are a second net.
 */
export function serviceLogger(level: string): Logger {
  return pino(
    {
      level,
      // no pid/hostname; the service name is bound once the module says it (createServiceApp)
      base: {},
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      // requestLogLine's req and res are written as they are (Fastify's serializers expect its own objects)
      serializers: { req: asIs, res: asIs },
      redact: { paths: ['*.access_token', '*.refresh_token', '*.device_code', '*.password', '*.authorization'], censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}

/**
 * Fastify's request logging, as the services have always logged: no "incoming request" line,
 * and one line per answered request with only its id, method, path (no query string: tokens
 * travel there), caller's address, status and time (request_id comes from the request's logger).
 */
export class RequestLogLines extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'request_id' });
  }

  override isLogDisabled(request: FastifyRequest): boolean {
    return UNLOGGED_PATHS.has(pathOf(request.url));
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = {
      req: { id: request.id, method: request.method, path: pathOf(request.url), remote_address: request.socket.remoteAddress },
      res: { status: reply.statusCode },
      responseTime: Math.round(reply.elapsedTime),
    };
    if (error || reply.statusCode >= 500) request.log.error(line, 'request errored');
    else request.log.info(line, 'request completed');
  }
}

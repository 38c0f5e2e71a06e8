import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options } from 'pino-http';

// An incoming x-request-id is kept only when it is short and plain, so callers cannot
// inject log content through it.
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/**
 * Structured JSON logs, one line per request with its request id. Requests are logged
 * without headers, bodies or query strings: those are where tokens and keys travel.
 */
export function pinoHttpOptions(serviceName: string, level: string): Options {
  return {
    level,
    base: { service: serviceName },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    // set by the first middleware (createServiceApp); computed here only outside it
    genReqId: (req, res) => (req as IncomingMessage & { id?: string }).id ?? requestIdFor(req, res),
    customProps: (req) => ({ request_id: (req as IncomingMessage & { id?: string }).id }),
    serializers: {
      req: (req: { id?: string; method?: string; url?: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        path: typeof req.url === 'string' ? req.url.split('?')[0] : undefined,
        remote_address: req.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
    },
    redact: { paths: ['*.access_token', '*.refresh_token', '*.device_code', '*.password', '*.authorization'], censor: '[redacted]' },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
  };
}

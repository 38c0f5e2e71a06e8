import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { INestApplication, InjectionToken, Provider } from '@nestjs/common';
import { parse as parseContentType } from 'content-type';
import { PinoLogger } from 'nestjs-pino';
import { API_KEY_HEADER, InvalidRequestError } from '@fedgate/contracts';
import { API_CLIENTS, authenticateApiKey, type ApiClient, type ConfiguredKey } from './api-key.guard';
import { INTERNAL_ERROR_BODY, answerForError } from './http-error.filter';
import { requestIdFor } from './logging';
import { ServiceMetrics } from './metrics';

/** Who asked, for the handler (the same values ApiKeyGuard and RequestOrigin give a controller). */
export interface FastRouteContext {
  client: ApiClient;
  origin: { client_id: string; source_ip?: string };
  requestId: string;
}

/**
 * A hot `POST <path>` JSON endpoint answered straight from Node's request event, before
 * Express and Nest: the same request id, API-key check, body limit, error codes, metrics and
 * request log line, without the per-request cost of the framework pipeline (about half of a
 * cached check's CPU). The route's Nest controller stays: every request the fast path does not
 * take as plainly well-formed goes there (see `takes`). Handlers call the same use case.
 */
export interface FastJsonRoute {
  path: string;
  /**
   * Answers 200 with the returned value as JSON, or a FastJsonReply's status and body; a thrown
   * FedgateError is answered with its code.
   */
  handle(body: unknown, context: FastRouteContext): Promise<unknown>;
}

/** A fast route's answer with a status other than 200 (e.g. token-service's 401 {active:false}). */
export class FastJsonReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/**
 * The service's fast routes (provided by PlatformModule): a service module registers its
 * routes with provideFastJsonRoutes; createServiceApp installs them.
 */
export class FastJsonRoutes {
  private readonly routes: FastJsonRoute[] = [];
  /** Requests the fast path took (the rest went to Express): for tests and debugging. */
  taken = 0;

  register(...routes: FastJsonRoute[]): void {
    this.routes.push(...routes);
  }

  get all(): readonly FastJsonRoute[] {
    return this.routes;
  }
}

/**
 * The provider a service module lists to register its fast routes: `routes` gets the `inject`ed
 * providers (the use cases) and answers the routes, which go into the FastJsonRoutes registry.
 */
export function provideFastJsonRoutes(routes: (...deps: never[]) => FastJsonRoute[], inject: InjectionToken[]): Provider {
  return {
    provide: Symbol(`fast JSON routes of ${routes.name}`),
    useFactory: (registry: FastJsonRoutes, ...deps: never[]) => registry.register(...routes(...deps)),
    inject: [FastJsonRoutes, ...inject],
  };
}

/**
 * Puts the registered fast routes (if any) in front of Express on the app's HTTP server.
 * Called by createServiceApp, so tests of the app get the same paths as the service.
 */
export function installFastJsonRoutes(app: INestApplication, bodyLimitBytes: number): void {
  const registry = app.get(FastJsonRoutes, { strict: false });
  const routes = registry.all;
  if (routes.length === 0) return;
  const byPath = new Map(routes.map((r) => [r.path, r]));
  const keys = app.get<ConfiguredKey[]>(API_CLIENTS, { strict: false });
  const metrics = app.get(ServiceMetrics, { strict: false });
  const server = app.getHttpServer() as Server;
  const [framework, ...others] = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (!framework || others.length > 0) throw new Error('fast JSON routes: expected exactly one request listener (Express)');
  // pino-http's logger exists only once the app is initialised (it is made with the middleware)
  let requestLogger: RequestLog | undefined;
  const asIs = (value: unknown) => value;
  const log = () => (requestLogger ??= PinoLogger.root.child({}, { serializers: { req: asIs, res: asIs } }));
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const route = req.method === 'POST' ? byPath.get(req.url ?? '') : undefined;
    if (route && takes(req, bodyLimitBytes)) {
      registry.taken++;
      answer(route, req, res, { keys, metrics, log }).catch((err: unknown) => answerBroken(res, err, log()));
    } else framework(req, res);
  });
}

/**
 * Only plainly well-formed requests: a declared length within the limit, JSON in UTF-8, no
 * content encoding. Anything else (chunked, gzip, another charset, too large) goes to
 * Express, whose body parser gives those cases their usual answers (413, 415...).
 */
function takes(req: IncomingMessage, limit: number): boolean {
  const length = req.headers['content-length'];
  if (length === undefined || !/^\d+$/.test(length) || Number(length) > limit) return false;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const contentType = req.headers['content-type'];
  if (!contentType) return false;
  try {
    const parsed = parseContentType(contentType);
    return parsed.type === 'application/json' && (parsed.parameters['charset'] ?? 'utf-8').toLowerCase() === 'utf-8';
  } catch {
    return false;
  }
}

/** The service's logger, with req/res taken as already serialized (pino-http's serializers expect Node's objects). */
type RequestLog = ReturnType<typeof PinoLogger.root.child>;

async function answer(
  route: FastJsonRoute,
  req: IncomingMessage,
  res: ServerResponse,
  deps: { keys: ConfiguredKey[]; metrics: ServiceMetrics; log: () => RequestLog },
): Promise<void> {
  const started = performance.now();
  const requestId = requestIdFor(req, res);
  let status: number;
  let payload: unknown;
  try {
    const body = parseJsonBody(await readBody(req));
    const client = authenticateApiKey(deps.keys, req.headers[API_KEY_HEADER]);
    const result = await route.handle(body, { client, origin: { client_id: client.client_id, source_ip: req.socket.remoteAddress }, requestId });
    [status, payload] = result instanceof FastJsonReply ? [result.status, result.body] : [200, result];
  } catch (err) {
    if (req.socket.destroyed) return; // the client went away (mid-body): nobody to answer
    const failure = answerForError(err);
    if (failure.unexpected) deps.log().error({ request_id: requestId, err: failure.unexpected }, 'unexpected error');
    status = failure.status;
    payload = failure.body;
  }
  writeJson(res, status, payload);
  const seconds = (performance.now() - started) / 1000;
  deps.metrics.recordHttp('POST', route.path, status, seconds);
  // pino-http's request log line, its fields as its serializers would make them (never headers or bodies)
  const line = {
    req: { id: requestId, method: 'POST', path: route.path, remote_address: req.socket.remoteAddress },
    request_id: requestId,
    res: { status },
    responseTime: Math.round(seconds * 1000),
  };
  if (status >= 500) deps.log().error(line, 'request errored');
  else deps.log().info(line, 'request completed');
}

/** `payload` as the JSON answer (serializing first: a payload that cannot be serialized throws before any header is sent). */
function writeJson(res: ServerResponse, status: number, payload: unknown): void {
  const json = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': json.length });
  res.end(json);
}

/** A failure outside the handler (e.g. an answer that cannot be serialized): 500, never a crash. */
function answerBroken(res: ServerResponse, err: unknown, log: RequestLog): void {
  log.error({ err: answerForError(err).unexpected }, 'fast route failed');
  if (res.headersSent) res.destroy();
  else writeJson(res, 500, INTERNAL_ERROR_BODY);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}

export const NOT_JSON = 'request body is not valid JSON';

/** body-parser's strict JSON: an object or array, else 400 as it would answer; empty is {}. */
function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return {};
  if (first === '{' || first === '[') {
    try {
      return JSON.parse(text);
    } catch {
      // answered below
    }
  }
  throw new InvalidRequestError(NOT_JSON);
}

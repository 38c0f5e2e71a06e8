import type { FastifyInstance } from 'fastify';
import { API_PATHS, ERROR_CATALOGUE, type ErrorBody } from '@fedgate/contracts';
import { pathOf } from './request-path';

/** Seconds a shed caller is told to wait: about the time the requests in progress take to drain. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;

const OVERLOADED: ErrorBody = { error: 'overloaded', error_description: ERROR_CATALOGUE.overloaded.summary };

// Liveness and scrapes cost next to nothing and must not fail because the service is busy.
// Known by path (request.url keeps the query: `/metrics?x=1` is still a scrape).
const NEVER_SHED: ReadonlySet<string> = new Set([API_PATHS.common.health, API_PATHS.common.metrics]);

/**
 * Bounds the requests this process works on at once: past `maxInFlight`, a request is
 * answered 503 `overloaded` with Retry-After as soon as it arrives, before its body is read
 * or any work is done, so latency stays bounded instead of every caller queuing behind the
 * backlog. A request counts until its response is finished or its connection closed.
 */
export function installLoadShedding(fastify: FastifyInstance, maxInFlight: number | undefined): void {
  if (maxInFlight === undefined) return;
  let inFlight = 0;
  fastify.addHook('onRequest', (request, reply, done) => {
    if (inFlight >= maxInFlight && !NEVER_SHED.has(pathOf(request.url))) {
      reply.code(503).header('retry-after', String(OVERLOAD_RETRY_AFTER_SECONDS)).send(OVERLOADED);
      return;
    }
    inFlight++;
    reply.raw.once('close', () => inFlight--);
    done();
  });
}

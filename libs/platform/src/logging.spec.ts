import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestLogLines } from './logging';

/** A request as Fastify hands it to the log controller, its logger capturing what it writes. */
function request(url: string) {
  const lines: Array<{ level: string; line: Record<string, unknown> }> = [];
  const log = { info: (line: Record<string, unknown>) => lines.push({ level: 'info', line }), error: (line: Record<string, unknown>) => lines.push({ level: 'error', line }) };
  return { lines, req: { id: 'r-1', method: 'GET', url, socket: { remoteAddress: '127.0.0.1' }, log } as unknown as FastifyRequest };
}
const reply = (statusCode: number) => ({ statusCode, elapsedTime: 1.4 }) as unknown as FastifyReply;

describe('RequestLogLines', () => {
  it('writes no line for probes and scrapes, with or without a query string', () => {
    for (const url of ['/healthz', '/readyz?verbose=1', '/metrics?name=x']) {
      const { lines, req } = request(url);
      new RequestLogLines().requestCompleted(null, req, reply(200));
      assert.deepEqual(lines, [], url);
    }
  });

  it('writes one line per answered request, its path without the query string (where tokens travel)', () => {
    const { lines, req } = request('/v1/verify?access_token=secret');
    new RequestLogLines().requestCompleted(null, req, reply(200));
    assert.deepEqual(lines, [{ level: 'info', line: { req: { id: 'r-1', method: 'GET', path: '/v1/verify', remote_address: '127.0.0.1' }, res: { status: 200 }, responseTime: 1 } }]);
  });

  it('writes a 5xx answer at level error', () => {
    const { lines, req } = request('/v1/check');
    new RequestLogLines().requestCompleted(null, req, reply(503));
    assert.equal(lines[0]?.level, 'error');
  });
});

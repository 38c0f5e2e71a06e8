import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { freePort, waitFor } from '@fedgate/testing';
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

describe('the service log (buffered)', () => {
  it('writes buffered lines without further traffic, and on SIGTERM the lines logged while stopping, exiting 0', async () => {
    const port = await freePort();
    const child = fork(path.join(__dirname, 'testing/log-fixture.js'), [], { env: { ...process.env, FIXTURE_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await new Promise<void>((resolve) => child.once('message', () => resolve()));
      const res = await fetch(`http://127.0.0.1:${port}/hello`, { headers: { 'x-request-id': 'log-test-1' } });
      assert.equal(res.status, 200);
      // far less than the 4 KiB buffer: the periodic flush writes it, no more requests needed
      await waitFor('the request line in the log', () => out.includes('"request_id":"log-test-1"'), 5_000, 20);
      const line = JSON.parse(out.split('\n').find((l) => l.includes('"request_id":"log-test-1"'))!) as Record<string, unknown>;
      assert.deepEqual({ msg: line.msg, req: line.req, res: line.res }, { msg: 'request completed', req: { id: 'log-test-1', method: 'GET', path: '/hello', remote_address: '127.0.0.1' }, res: { status: 200 } });

      child.kill('SIGTERM');
      // logged after the server closed, then the process exits at once: only the exit hook writes it
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.match(out, /"msg":"stopped by SIGTERM"/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

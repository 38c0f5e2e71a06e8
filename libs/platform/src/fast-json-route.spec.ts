import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { Controller, HttpCode, INestApplication, Module, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { FedgateError, parseOrThrow } from '@fedgate/contracts';
import { ApiKeyGuard, RequestOrigin, configuredKey } from './api-key.guard';
import { createServiceApp } from './bootstrap';
import { FastJsonReply, FastJsonRoutes, provideFastJsonRoutes, type FastJsonRoute } from './fast-json-route';
import { PlatformModule } from './platform.module';
import { validBody } from './request-body';

// One use case behind both paths: the fast route and the Express controller it stands in front of.
const EchoSchema = z.object({ mode: z.enum(['echo', 'forbidden', 'crash', 'refuse', 'unserializable']), value: z.string().max(10) });
async function echoUseCase(input: unknown, clientId: string) {
  const { mode, value } = parseOrThrow(EchoSchema, input);
  if (mode === 'refuse') return new FastJsonReply(401, { active: false, error: value });
  if (mode === 'unserializable') return { count: 1n };
  if (mode === 'forbidden') throw new FedgateError('forbidden', 'not you');
  if (mode === 'crash') throw new Error('secret internal detail');
  return { echo: value, client: clientId };
}

@Controller('v1')
@UseGuards(ApiKeyGuard)
class EchoController {
  @Post('echo')
  @HttpCode(200)
  async echo(@Req() req: Request, @Res({ passthrough: true }) res: Response, @RequestOrigin() origin: { client_id: string }) {
    const answer = await echoUseCase(validBody(req, 'json', EchoSchema), origin.client_id);
    if (!(answer instanceof FastJsonReply)) return answer;
    res.status(answer.status);
    return answer.body;
  }
}

const echoRoutes = (): FastJsonRoute[] => [{ path: '/v1/echo', handle: (body, { client }) => echoUseCase(body, client.client_id) }];
@Module({
  imports: [PlatformModule.forRoot({ serviceName: 'test-service', logLevel: 'silent', apiKeys: [configuredKey('superlink', 'the-key', ['superlink'], ['superlink'])] })],
  controllers: [EchoController],
  providers: [provideFastJsonRoutes(echoRoutes, [])],
})
class FastModule {}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

describe('fast JSON routes', () => {
  let app: INestApplication;
  let port: number;
  before(async () => {
    app = await createServiceApp(FastModule, { bodyLimit: '1kb' });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
  });
  after(() => app.close());

  /** POST /v1/echo; `chunked` leaves out content-length, so the request goes to Express instead. */
  function post(body: string, options: { key?: string | null; contentType?: string; chunked?: boolean } = {}): Promise<Answer> {
    const headers: http.OutgoingHttpHeaders = { 'content-type': options.contentType ?? 'application/json' };
    if (options.key !== null) headers['x-fedgate-key'] = options.key ?? 'the-key';
    if (options.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/echo', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The same request both ways: status and body must not depend on which path took it. */
  async function bothWays(body: string, options: { key?: string | null; contentType?: string } = {}) {
    const registry = app.get(FastJsonRoutes);
    const before = registry.taken;
    const fast = await post(body, options);
    assert.equal(registry.taken, before + 1, 'the fast path took it');
    const framework = await post(body, { ...options, chunked: true });
    assert.equal(registry.taken, before + 1, 'Express took the chunked one');
    assert.deepEqual({ status: fast.status, body: fast.body }, { status: framework.status, body: framework.body }, `same answer for ${body}`);
    assert.match(String(fast.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.match(String(fast.headers['content-type']), /^application\/json; charset=utf-8/);
    return fast;
  }

  it('answers like the controller: the result, and every failure with its status and code', async () => {
    assert.deepEqual((await bothWays('{"mode":"echo","value":"hi"}')).body, { echo: 'hi', client: 'superlink' });
    assert.equal((await bothWays('{"mode":"echo","value":"far too long a value"}')).status, 400);
    assert.deepEqual((await bothWays('{"mode":"echo",')).body, { error: 'invalid_request', error_description: 'request body is not valid JSON' });
    assert.deepEqual((await bothWays('"just a string"')).body, { error: 'invalid_request', error_description: 'request body is not valid JSON' });
    assert.equal((await bothWays('')).status, 400);
    const refused = await bothWays('{"mode":"refuse","value":"expired"}');
    assert.deepEqual({ status: refused.status, body: refused.body }, { status: 401, body: { active: false, error: 'expired' } });
    assert.deepEqual((await bothWays('{"mode":"forbidden","value":"x"}')).body, { error: 'forbidden', error_description: 'not you' });
    assert.deepEqual((await bothWays('{"mode":"crash","value":"x"}')).body, { error: 'internal_error', error_description: 'internal error' });
  });

  it('answers 500 (and lives on) when an answer cannot be serialized', async () => {
    const broken = await post('{"mode":"unserializable","value":"x"}');
    assert.deepEqual({ status: broken.status, body: broken.body }, { status: 500, body: { error: 'internal_error', error_description: 'internal error' } });
    assert.equal((await post('{"mode":"echo","value":"hi"}')).status, 200);
  });

  it('refuses a missing or unknown key with 401 invalid_client', async () => {
    assert.equal(((await bothWays('{"mode":"echo","value":"hi"}', { key: null })).body as { error: string }).error, 'invalid_client');
    assert.equal(((await bothWays('{"mode":"echo","value":"hi"}', { key: 'not-the-key' })).body as { error: string }).error, 'invalid_client');
  });

  it('leaves what it does not take to Express: too large (413), other media types (415)', async () => {
    const big = await post(JSON.stringify({ mode: 'echo', value: 'x'.repeat(2000) }));
    assert.equal(big.status, 413);
    assert.equal((big.body as { error: string }).error, 'payload_too_large');
    const before = app.get(FastJsonRoutes).taken;
    const text = await post('{"mode":"echo","value":"hi"}', { contentType: 'text/plain' });
    assert.equal(app.get(FastJsonRoutes).taken, before, 'neither went the fast path');
    assert.equal(text.status, 415);
    assert.deepEqual((await post('{"mode":"echo","value":"hi"}', { contentType: 'application/json; charset=utf-8' })).body, { echo: 'hi', client: 'superlink' });
  });

  it('counts its requests in the metrics under the route pattern', async () => {
    await post('{"mode":"echo","value":"hi"}');
    const metrics = await new Promise<string>((resolve) => http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    }));
    assert.match(metrics, /fedgate_http_requests_total\{method="POST",route="\/v1\/echo",status="200",service="test-service"\} \d+/);
  });
});

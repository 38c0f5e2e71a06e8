import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { Body, Controller, INestApplication, Module, Post } from '@nestjs/common';
import request from 'supertest';
import { FedgateError } from '@fedgate/contracts';
import { createServiceApp } from './bootstrap';
import { ConfigError, loadConfig, serviceConfigSchema } from './config';
import { PlatformModule } from './platform.module';
import { ReadinessCheck, runReadinessChecks } from './readiness';

const up: ReadinessCheck = { name: 'up-dependency', check: async () => undefined };
const down: ReadinessCheck = { name: 'down-dependency', check: async () => { throw new Error('refused'); } };
const hanging: ReadinessCheck = { name: 'hanging-dependency', check: () => new Promise(() => undefined) };

@Controller('echo')
class EchoController {
  @Post('fedgate-error')
  fedgateError(): never {
    throw new FedgateError('forbidden', 'alice may not do that');
  }
  @Post('crash')
  crash(): never {
    throw new Error('secret internal detail');
  }
  @Post()
  echo(@Body() body: unknown) {
    return body;
  }
}

@Module({ imports: [PlatformModule.forRoot({ serviceName: 'test-service', logLevel: 'silent', readiness: { checks: [up, down] } })], controllers: [EchoController] })
class TestModule {}

describe('PlatformModule over HTTP', () => {
  let app: INestApplication;
  before(async () => {
    app = await createServiceApp(TestModule, { bodyLimit: '1kb' });
    await app.init();
  });
  after(() => app.close());

  it('answers /healthz while a dependency is down, and /readyz 503 naming it', async () => {
    await request(app.getHttpServer()).get('/healthz').expect(200, { status: 'ok', service: 'test-service' });
    const ready = await request(app.getHttpServer()).get('/readyz').expect(503);
    assert.equal(ready.body.error, 'dependency_unavailable');
    assert.deepEqual(ready.body.checks, { 'up-dependency': 'up', 'down-dependency': 'down' });
  });

  it('serves Prometheus metrics labelled by route pattern and service', async () => {
    await request(app.getHttpServer()).post('/echo').send({ a: 1 }).expect(201);
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    assert.match(res.headers['content-type'], /^text\/plain/);
    assert.match(res.text, /fedgate_http_requests_total\{method="POST",route="\/echo",status="201",service="test-service"\} 1/);
  });

  it('turns a FedgateError into its status and stable code', async () => {
    const res = await request(app.getHttpServer()).post('/echo/fedgate-error').expect(403);
    assert.deepEqual(res.body, { error: 'forbidden', error_description: 'alice may not do that' });
  });

  it('hides unexpected errors behind a generic 500 without details', async () => {
    const res = await request(app.getHttpServer()).post('/echo/crash').expect(500);
    assert.deepEqual(res.body, { error: 'internal_error', error_description: 'internal error' });
  });

  it('rejects bad JSON (400) and bodies over the limit (413) with codes', async () => {
    const bad = await request(app.getHttpServer()).post('/echo').set('content-type', 'application/json').send('{"a":').expect(400);
    assert.equal(bad.body.error, 'invalid_request');
    const big = await request(app.getHttpServer()).post('/echo').send({ a: 'x'.repeat(2000) }).expect(413);
    assert.equal(big.body.error, 'payload_too_large');
    assert.match(big.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'refused bodies still get a request id');
  });

  it('answers unknown routes 404 not_found with a request id', async () => {
    const res = await request(app.getHttpServer()).get('/nope').expect(404);
    assert.equal(res.body.error, 'not_found');
    assert.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });
});

describe('readiness checks', () => {
  it('count a check that never answers as down, after the timeout', async () => {
    const report = await runReadinessChecks([up, hanging], 50);
    assert.deepEqual(report, { ready: false, checks: { 'up-dependency': 'up', 'hanging-dependency': 'down' } });
  });
});

describe('loadConfig', () => {
  it('names every bad setting at once', () => {
    assert.throws(() => loadConfig(serviceConfigSchema, { FEDGATE_PORT: 'eighty' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /FEDGATE_PORT/);
      assert.match(err.message, /FEDGATE_TLS_CERT/);
      return true;
    });
  });
  it('takes an empty setting as unset, so its default applies and an optional one stays absent', () => {
    const config = loadConfig(serviceConfigSchema, { FEDGATE_PORT: '8443', FEDGATE_TLS_CERT: 'c', FEDGATE_TLS_KEY: 'k', FEDGATE_HOST: '', FEDGATE_LOG_LEVEL: '' });
    assert.equal(config.FEDGATE_HOST, '127.0.0.1');
    assert.equal(config.FEDGATE_LOG_LEVEL, 'info');
  });
  it('applies defaults', () => {
    const config = loadConfig(serviceConfigSchema, { FEDGATE_PORT: '8443', FEDGATE_TLS_CERT: 'c', FEDGATE_TLS_KEY: 'k' });
    assert.equal(config.FEDGATE_PORT, 8443);
    assert.equal(config.FEDGATE_HOST, '127.0.0.1');
  });
});

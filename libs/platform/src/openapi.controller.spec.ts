import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import 'reflect-metadata';
import { INestApplication, Module } from '@nestjs/common';
import request from 'supertest';
import { openApiDocument } from '@fedgate/contracts';
import { configuredKey } from './api-key.guard';
import { createServiceApp } from './bootstrap';
import { PlatformModule } from './platform.module';

const document = openApiDocument('login');

// apiKeys is set so that the routes below are shown to need none even where keys are configured
@Module({ imports: [PlatformModule.forRoot({ serviceName: 'docs-test', logLevel: 'silent', apiKeys: [configuredKey('cli', 'secret')], openApi: document })] })
class DocsModule {}

@Module({ imports: [PlatformModule.forRoot({ serviceName: 'no-docs-test', logLevel: 'silent' })] })
class NoDocsModule {}

describe('OpenApiController over HTTP', () => {
  let app: INestApplication;
  before(async () => {
    app = await createServiceApp(DocsModule);
    await app.init();
  });
  after(() => app.close());

  it('serves the document at /openapi.json without an API key', async () => {
    const res = await request(app.getHttpServer()).get('/openapi.json').expect(200);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.equal(res.body.openapi, '3.1.0');
    assert.deepEqual(res.body, JSON.parse(JSON.stringify(document)));
  });

  it('serves /docs as HTML under a strict CSP, with no inline script or style', async () => {
    const res = await request(app.getHttpServer()).get('/docs').expect(200);
    assert.match(res.headers['content-type'], /^text\/html/);
    const csp = res.headers['content-security-policy'];
    assert.ok(typeof csp === 'string');
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) {
      assert.ok(csp.split('; ').includes(directive), `CSP has ${directive}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    const scripts = [...res.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.deepEqual(
      scripts.map(([, attributes]) => /src="([^"]+)"/.exec(attributes ?? '')?.[1]),
      ['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui-standalone-preset.js', '/docs/assets/init.js'],
    );
    for (const [, , body] of scripts) assert.equal(body, '', 'no inline script');
    assert.doesNotMatch(res.text, /<style|style=|https?:\/\//);
    assert.match(res.text, /href="\/docs\/assets\/swagger-ui\.css"/);
  });

  it('serves the swagger-ui assets and the init script from the installed package', async () => {
    const bundle = await request(app.getHttpServer()).get('/docs/assets/swagger-ui-bundle.js').expect(200);
    assert.match(bundle.headers['content-type'], /^text\/javascript/);
    assert.ok(Number(bundle.headers['content-length']) > 100_000, 'the real bundle');
    const preset = await request(app.getHttpServer()).get('/docs/assets/swagger-ui-standalone-preset.js').expect(200);
    assert.match(preset.headers['content-type'], /^text\/javascript/);
    const css = await request(app.getHttpServer()).get('/docs/assets/swagger-ui.css').expect(200);
    assert.match(css.headers['content-type'], /^text\/css/);
    const init = await request(app.getHttpServer()).get('/docs/assets/init.js').expect(200);
    assert.match(init.headers['content-type'], /^text\/javascript/);
    assert.match(init.text, /url: "\/openapi\.json"/);
    assert.match(init.text, /validatorUrl: null/);
  });

  it('answers 404 not_found for anything else under /docs/assets, traversal included', async () => {
    const attempts = [
      '/docs/assets/..%2f..%2fpackage.json',
      '/docs/assets/..%2F..%2F..%2F..%2Fpackage.json',
      '/docs/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/docs/assets/..%5c..%5cpackage.json',
      '/docs/assets/../../package.json',
      '/docs/assets/package.json',
      '/docs/assets/index.html',
      '/docs/assets/swagger-ui-bundle.js.map',
      '/docs/assets/constructor',
      '/docs/assets/__proto__',
      '/docs/assets/',
    ];
    for (const path of attempts) {
      const res = await request(app.getHttpServer()).get(path);
      assert.equal(res.status, 404, path);
      assert.match(res.headers['content-type'], /^application\/json/, path);
      assert.equal(res.body.error, 'not_found', path);
      assert.equal(typeof res.body.error_description, 'string', path);
    }
  });
});

describe('PlatformModule without openApi', () => {
  let app: INestApplication;
  before(async () => {
    app = await createServiceApp(NoDocsModule);
    await app.init();
  });
  after(() => app.close());

  it('serves neither /openapi.json nor /docs', async () => {
    for (const path of ['/openapi.json', '/docs', '/docs/assets/init.js']) {
      const res = await request(app.getHttpServer()).get(path).expect(404);
      assert.equal(res.body.error, 'not_found');
    }
  });
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { API_PATHS, ResourceError } from '@fedgate/contracts';

/** The service's OpenAPI document (PlatformModule.forRoot({ openApi })). */
export const OPENAPI_DOCUMENT = Symbol('OPENAPI_DOCUMENT');

export const DOCS_ASSETS_PATH = `${API_PATHS.common.docs}/assets`;

/**
 * The /docs page: self only, no inline script or style. `img-src data:` is the one
 * exception, for the SVG icons swagger-ui.css embeds as data: URIs (never script).
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API documentation</title>
<link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_ASSETS_PATH}/swagger-ui-standalone-preset.js"></script>
<script src="${DOCS_ASSETS_PATH}/init.js"></script>
</body>
</html>
`;

// validatorUrl: null — the default badge calls validator.swagger.io, unreachable offline and outside the CSP.
const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(API_PATHS.common.openapi)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout'
  });
});
`;

interface Asset {
  contentType: string;
  body: () => Buffer;
}

/**
 * swagger-ui-dist's own directory. `absolute-path.js` is what the package's
 * getAbsoluteFSPath() is, required directly: the package's main would also
 * evaluate the 1.4 MB browser bundle in Node. (createRequire: the package has no types.)
 */
function swaggerUiDir(): string {
  const getAbsoluteFSPath = createRequire(__filename)('swagger-ui-dist/absolute-path.js') as () => string;
  return getAbsoluteFSPath();
}

/** Read once on first use, then served from memory. */
function cached(read: () => Buffer): () => Buffer {
  let value: Buffer | undefined;
  return () => (value ??= read());
}

function distFile(name: string): () => Buffer {
  return cached(() => readFileSync(join(swaggerUiDir(), name)));
}

/** The only files under /docs/assets: an allowlist, so no request path ever reaches the file system. */
const ASSETS: Readonly<Record<string, Asset>> = {
  'swagger-ui.css': { contentType: 'text/css; charset=utf-8', body: distFile('swagger-ui.css') },
  'swagger-ui-bundle.js': { contentType: 'text/javascript; charset=utf-8', body: distFile('swagger-ui-bundle.js') },
  'swagger-ui-standalone-preset.js': { contentType: 'text/javascript; charset=utf-8', body: distFile('swagger-ui-standalone-preset.js') },
  'init.js': { contentType: 'text/javascript; charset=utf-8', body: cached(() => Buffer.from(INIT_JS, 'utf8')) },
};

/** GET /openapi.json, GET /docs (Swagger UI) and its assets. Public: no API key. */
@Controller()
export class OpenApiController {
  private readonly documentJson: string;

  constructor(@Inject(OPENAPI_DOCUMENT) document: Readonly<Record<string, unknown>>) {
    // serialised once at startup: a document that is not JSON fails the boot, not a request
    this.documentJson = JSON.stringify(document);
  }

  @Get(API_PATHS.common.openapi)
  openapi(@Res() res: FastifyReply): void {
    void res.type('application/json; charset=utf-8').header('X-Content-Type-Options', 'nosniff').send(this.documentJson);
  }

  @Get(API_PATHS.common.docs)
  docs(@Res() res: FastifyReply): void {
    void res
      .type('text/html; charset=utf-8')
      .headers({
        'Content-Security-Policy': DOCS_CONTENT_SECURITY_POLICY,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-cache',
      })
      .send(DOCS_HTML);
  }

  @Get(`${DOCS_ASSETS_PATH}/:file`)
  asset(@Param('file') file: string, @Res() res: FastifyReply): void {
    // Object.hasOwn: names such as `constructor` or `__proto__` must not reach the prototype
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!asset) throw new ResourceError('not_found', 'No such documentation asset.');
    void res
      .type(asset.contentType)
      .headers({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'public, max-age=3600' })
      .send(asset.body());
  }
}

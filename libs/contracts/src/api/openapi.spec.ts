import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CATALOGUE, isErrorCode } from '../errors';
import { API_PATHS } from './http';
import { OPENAPI_SERVICES, openApiDocument, type OpenApiJsonObject, type OpenApiJsonValue, type OpenApiService } from './openapi';

// Written out from API.md rather than derived from the catalogue, so a dropped operation fails here.
const API_MD_CALLS: Record<OpenApiService | 'common', readonly (readonly [string, string])[]> = {
  login: [
    ['post', '/v1/device/authorize'],
    ['post', '/v1/device/token'],
    ['post', '/v1/token/refresh'],
    ['post', '/v1/logout'],
    ['post', '/oauth2/device_authorization'],
    ['post', '/oauth2/token'],
  ],
  token: [
    ['post', '/v1/verify'],
    ['get', '/v1/userinfo'],
    ['post', '/v1/introspect'],
  ],
  authz: [
    ['post', '/v1/authorize'],
    ['post', '/v1/check'],
    ['post', '/v1/check/batch'],
    ['post', '/v1/runs'],
    ['get', '/v1/runs'],
    ['get', '/v1/runs/{run_id}/members'],
    ['put', '/v1/runs/{run_id}/members/{flwr_aid}'],
    ['delete', '/v1/runs/{run_id}/members/{flwr_aid}'],
    ['get', '/v1/services/{service}/members'],
    ['put', '/v1/services/{service}/members/{flwr_aid}'],
    ['delete', '/v1/services/{service}/members/{flwr_aid}'],
    ['post', '/stores/{store_id}/check'],
  ],
  audit: [
    ['get', '/v1/events'],
    ['get', '/v1/events/{id}'],
    ['get', '/v1/events/export'],
    ['get', '/v1/integrity'],
    ['get', '/'],
  ],
  common: [
    ['get', '/healthz'],
    ['get', '/readyz'],
    ['get', '/metrics'],
  ],
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const obj = (value: OpenApiJsonValue | undefined): OpenApiJsonObject => {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `expected an object, got ${JSON.stringify(value)}`);
  return value;
};

function operationsOf(doc: OpenApiJsonObject): { path: string; method: string; op: OpenApiJsonObject }[] {
  const out: { path: string; method: string; op: OpenApiJsonObject }[] = [];
  for (const [path, item] of Object.entries(obj(doc['paths']))) {
    for (const [method, op] of Object.entries(obj(item))) {
      assert.ok(HTTP_METHODS.includes(method), `${path}: '${method}' is not an HTTP method`);
      out.push({ path, method, op: obj(op) });
    }
  }
  return out;
}

function collectRefs(value: OpenApiJsonValue, refs: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) collectRefs(item, refs);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') refs.push(item);
      else collectRefs(item, refs);
    }
  }
  return refs;
}

function resolve(doc: OpenApiJsonObject, ref: string): OpenApiJsonObject {
  assert.match(ref, /^#\/components\/schemas\/[A-Za-z0-9._-]+$/, `${ref} must point at a component schema`);
  const schema = obj(obj(doc['components'])['schemas'])[ref.slice('#/components/schemas/'.length)];
  assert.ok(schema !== undefined, `${ref} does not resolve`);
  return obj(schema);
}

function jsonSchemaOfResponse(op: OpenApiJsonObject, status: string, media = 'application/json'): OpenApiJsonObject {
  const response = obj(obj(op['responses'])[status]);
  return obj(obj(obj(obj(response['content'])[media])['schema']));
}

for (const service of OPENAPI_SERVICES) {
  describe(`openApiDocument('${service}')`, () => {
    const doc = openApiDocument(service);
    const ops = operationsOf(doc);

    it('is an OpenAPI 3.1 document with info, paths and components', () => {
      assert.equal(doc.openapi, '3.1.0');
      const info = obj(doc['info']);
      assert.equal(typeof info['title'], 'string');
      assert.equal(typeof info['version'], 'string');
      assert.ok(ops.length > 0);
      for (const { path, method, op } of ops) {
        assert.match(path, /^\//, `${path} must start with '/'`);
        assert.equal(typeof op['operationId'], 'string', `${method} ${path} needs an operationId`);
        assert.ok(Object.keys(obj(op['responses'])).length > 0, `${method} ${path} needs responses`);
        for (const status of Object.keys(obj(op['responses']))) assert.match(status, /^[1-5]\d\d$/);
      }
      const ids = ops.map(({ op }) => op['operationId']);
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    });

    it('describes every API.md call of the service and the ops endpoints', () => {
      for (const [method, path] of [...API_MD_CALLS[service], ...API_MD_CALLS.common]) {
        assert.ok(ops.some((entry) => entry.path === path && entry.method === method), `${method.toUpperCase()} ${path} is missing`);
      }
      const documented = new Set(ops.map(({ path }) => path));
      for (const path of Object.values(API_PATHS[service])) assert.ok(documented.has(path), `API_PATHS.${service} ${path} is not documented`);
    });

    it('has every path placeholder as a required path parameter', () => {
      for (const { path, op } of ops) {
        const placeholders = [...path.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]);
        const pathParams = ((op['parameters'] ?? []) as OpenApiJsonObject[]).filter((parameter) => parameter['in'] === 'path');
        assert.deepEqual(pathParams.map((parameter) => parameter['name']), placeholders, path);
        for (const parameter of pathParams) assert.equal(parameter['required'], true);
      }
    });

    it('resolves every $ref to a component schema', () => {
      const refs = collectRefs(doc);
      assert.ok(refs.length > 0);
      for (const ref of refs) resolve(doc, ref);
    });

    it('answers every error with the error body schema and catalogue codes', () => {
      for (const { path, method, op } of ops) {
        for (const [status, response] of Object.entries(obj(op['responses']))) {
          if (Number(status) < 400) continue;
          const schema = jsonSchemaOfResponse(op, status);
          const refs = typeof schema['$ref'] === 'string' ? [schema['$ref']] : ((schema['anyOf'] ?? []) as OpenApiJsonObject[]).map((branch) => branch['$ref']);
          assert.ok(refs.includes('#/components/schemas/ErrorBody'), `${method} ${path} ${status} must use ErrorBody`);
          const codes = obj(response)['x-fedgate-error-codes'] as string[];
          assert.ok(codes.length > 0);
          for (const code of codes) assert.ok(isErrorCode(code), `${code} is not in ERROR_CATALOGUE`);
        }
      }
      const errorBody = resolve(doc, '#/components/schemas/ErrorBody');
      assert.deepEqual(errorBody['required'], ['error', 'error_description']);
    });

    it("asks for x-fedgate-key on every /v1 call except /v1/userinfo (bearer) and a person's own calls (bearer, key optional)", () => {
      const schemes = obj(obj(doc['components'])['securitySchemes']);
      const { type, in: location, name } = obj(schemes['fedgateKey']);
      assert.deepEqual({ type, location, name }, { type: 'apiKey', location: 'header', name: 'x-fedgate-key' });
      assert.equal(obj(schemes['bearerToken'])['scheme'], 'bearer');
      for (const { path, method, op } of ops) {
        if (path === '/v1/userinfo') assert.deepEqual(op['security'], [{ bearerToken: [] }]);
        else if (path.startsWith('/v1/runs') && !(path === '/v1/runs' && method === 'post') || path.startsWith('/v1/services/')) {
          assert.deepEqual(op['security'], [{ bearerToken: [] }, { bearerToken: [], fedgateKey: [] }, { fedgateKey: [] }], `${method} ${path}`);
        } else if (path.startsWith('/v1/')) {
          assert.deepEqual(op['security'], [{ fedgateKey: [] }], `${method} ${path}`);
          const unauthorized = obj(obj(op['responses'])['401']);
          assert.ok((unauthorized['x-fedgate-error-codes'] as string[]).includes('invalid_client'), `${method} ${path} answers invalid_client`);
        }
      }
      for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
        assert.deepEqual(obj(obj(obj(doc['paths'])[path])['get'])['security'], [], `${path} is public`);
      }
    });

    it('sends forms to /oauth2/* and /v1/introspect and JSON elsewhere', () => {
      for (const { path, method, op } of ops) {
        if (op['requestBody'] === undefined) continue;
        const media = Object.keys(obj(obj(op['requestBody'])['content']));
        const form = path.startsWith('/oauth2/') || path === '/v1/introspect';
        assert.deepEqual(media, [form ? 'application/x-www-form-urlencoded' : 'application/json'], `${method} ${path}`);
      }
    });

    it('is JSON-serialisable and deterministic', () => {
      const text = JSON.stringify(doc);
      assert.deepEqual(JSON.parse(text), doc);
      assert.equal(JSON.stringify(openApiDocument(service)), text);
    });
  });
}

describe('openApiDocument details', () => {
  it('login: /v1/device/authorize takes a body and answers authn_type', () => {
    const doc = openApiDocument('login');
    const op = obj(obj(obj(doc['paths'])['/v1/device/authorize'])['post']);
    const body = obj(obj(obj(op['requestBody'])['content'])['application/json']);
    const request = resolve(doc, obj(body['schema'])['$ref'] as string);
    assert.ok('scope' in obj(request['properties']));
    const answer = resolve(doc, jsonSchemaOfResponse(op, '200')['$ref'] as string);
    assert.deepEqual(obj(obj(answer['properties'])['authn_type']), { type: 'string', const: 'oidc' });
    assert.ok((answer['required'] as string[]).includes('authn_type'));
    for (const field of ['device_code', 'user_code', 'verification_uri', 'verification_uri_complete', 'expires_in', 'interval']) {
      assert.ok((answer['required'] as string[]).includes(field), field);
    }
  });

  it('login: the device-token poll lists the RFC 8628 codes under 400', () => {
    const op = obj(obj(obj(openApiDocument('login')['paths'])['/v1/device/token'])['post']);
    const codes = obj(obj(op['responses'])['400'])['x-fedgate-error-codes'] as string[];
    for (const code of ['authorization_pending', 'slow_down', 'expired_token', 'access_denied', 'invalid_grant', 'invalid_request']) assert.ok(codes.includes(code), code);
  });

  it('token: /v1/verify answers 401 for refused tokens (expired_token included) with the inactive shape', () => {
    const doc = openApiDocument('token');
    const op = obj(obj(obj(doc['paths'])['/v1/verify'])['post']);
    const unauthorized = obj(obj(op['responses'])['401']);
    assert.deepEqual(unauthorized['x-fedgate-error-codes'], ['invalid_client', 'invalid_token', 'expired_token', 'revoked_token']);
    const schema = jsonSchemaOfResponse(op, '401');
    assert.deepEqual(schema['anyOf'], [{ $ref: '#/components/schemas/ErrorBody' }, { $ref: '#/components/schemas/InactiveVerifyResult' }]);
    assert.ok((obj(obj(op['responses'])['400'])['x-fedgate-error-codes'] as string[]).includes('invalid_request'));
  });

  it('uses catalogue statuses for error codes unless an operation overrides a shared code', () => {
    for (const service of OPENAPI_SERVICES) {
      for (const { path, op } of operationsOf(openApiDocument(service))) {
        for (const [status, response] of Object.entries(obj(op['responses']))) {
          if (Number(status) < 400) continue;
          for (const code of obj(response)['x-fedgate-error-codes'] as string[]) {
            if (!isErrorCode(code)) assert.fail(code);
            // a bearer token's expiry is 401 (RFC 6750), the device code's 400 (RFC 8628)
            const shared = code === 'expired_token' && status === '401' && !path.startsWith('/oauth2/') && !path.startsWith('/v1/device/');
            if (!shared) assert.equal(Number(status), ERROR_CATALOGUE[code].status, `${path} ${code}`);
          }
        }
      }
    }
  });

  it("authz: lists runs of the bearer token's person; writes answer a consistency_token", () => {
    const doc = openApiDocument('authz');
    const runs = obj(obj(doc['paths'])['/v1/runs']);
    const parameters = obj(runs['get'])['parameters'] as OpenApiJsonObject[];
    assert.deepEqual(
      parameters.map((parameter) => [parameter['name'], parameter['in'], parameter['required']]),
      [['consistency_token', 'query', false]],
    );
    assert.deepEqual(Object.keys(obj(obj(runs['post'])['responses'])).filter((status) => Number(status) < 300).sort(), ['200', '201']);
    const putMember = obj(obj(obj(doc['paths'])['/v1/runs/{run_id}/members/{flwr_aid}'])['put']);
    const write = resolve(doc, jsonSchemaOfResponse(putMember, '200')['$ref'] as string);
    assert.deepEqual(write['required'], ['consistency_token']);
    assert.ok((obj(obj(putMember['responses'])['403'])['x-fedgate-error-codes'] as string[]).includes('forbidden'));
    const check = obj(obj(obj(doc['paths'])['/v1/check'])['post']);
    assert.deepEqual(obj(obj(check['responses'])['503'])['x-fedgate-error-codes'], ['authz_unavailable', 'database_unavailable', 'overloaded']);
  });

  it('audit: documents the event filters as query parameters and the export as NDJSON', () => {
    const doc = openApiDocument('audit');
    const events = obj(obj(obj(doc['paths'])['/v1/events'])['get']);
    const names = (events['parameters'] as OpenApiJsonObject[]).map((parameter) => parameter['name']);
    assert.deepEqual(names, ['actor', 'type', 'outcome', 'object', 'since', 'until', 'limit', 'cursor', 'after_seq']);
    for (const parameter of events['parameters'] as OpenApiJsonObject[]) assert.equal(parameter['required'], false);
    const exportOp = obj(obj(obj(doc['paths'])['/v1/events/export'])['get']);
    assert.ok((exportOp['parameters'] as OpenApiJsonObject[]).some((parameter) => parameter['name'] === 'format'));
    assert.equal(jsonSchemaOfResponse(exportOp, '200', 'application/x-ndjson')['$ref'], '#/components/schemas/AuditEvent');
  });

  it('accepts info overrides', () => {
    const info = obj(openApiDocument('audit', { title: 'Audit', version: '9.9.9' })['info']);
    assert.equal(info['title'], 'Audit');
    assert.equal(info['version'], '9.9.9');
  });
});

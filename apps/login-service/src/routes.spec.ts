import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import 'reflect-metadata';
import { openApiDocument } from '@fedgate/contracts';
import { PLATFORM_CONTROLLERS, documentedRoutes, servedRoutes } from '@fedgate/platform';
import { LOGIN_CONTROLLERS } from './app.module';

// served from memory for /docs, not API operations
const STATIC_ASSETS = ['GET /docs/assets/:file'];

describe('login-service routes', () => {
  it('are exactly the operations of its /openapi.json (beside the static assets of its pages)', () => {
    const served = servedRoutes([...LOGIN_CONTROLLERS, ...PLATFORM_CONTROLLERS]).filter((route) => !STATIC_ASSETS.includes(route));
    assert.deepEqual(served, documentedRoutes(openApiDocument('login')));
  });
});

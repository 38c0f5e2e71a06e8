import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { FedgateError, REQUEST_REFUSED_MAX_ACTION_CHARS, parseEvent, type FedgateEvent } from '@fedgate/contracts';
import { keyRefusalsTo, requireKeyRole, requireRole } from './role.guard';

const request = (apiClient: unknown) => ({ apiClient, method: 'POST', url: '/v1/verify?x=1', routeOptions: { url: '/v1/verify' }, ip: '127.0.0.1' });
const contextWith = (apiClient: unknown) => ({ switchToHttp: () => ({ getRequest: () => request(apiClient) }) }) as unknown as ExecutionContext;
const SuperlinkGuard = requireRole('superlink');

describe('requireRole', () => {
  it('lets a key with the role through and records nothing', async () => {
    const events: FedgateEvent[] = [];
    const guard = new SuperlinkGuard(keyRefusalsTo(async (e) => void events.push(e), '/fedgate/token-service'));
    assert.equal(await guard.canActivate(contextWith({ client_id: 'superlink-a', roles: ['superlink'], services: ['superlink-a'] })), true);
    assert.equal(events.length, 0);
  });

  it('refuses a key without the role with 403 forbidden, after recording the refusal under the key', async () => {
    const events: FedgateEvent[] = [];
    const guard = new SuperlinkGuard(keyRefusalsTo(async (e) => void events.push(e), '/fedgate/token-service'));
    await assert.rejects(
      () => guard.canActivate(contextWith({ client_id: 'operator', roles: ['authz-admin', 'audit-reader'], services: '*' })),
      (err: unknown) => err instanceof FedgateError && err.code === 'forbidden' && err.status === 403,
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'fedgate.request.refused.v1');
    assert.equal(events[0]!.source, '/fedgate/token-service');
    assert.deepEqual(events[0]!.data, {
      actor: { kind: 'key', name: 'operator' },
      action: 'POST /v1/verify',
      reason: "This client's key does not have the superlink role.",
      origin: { client_id: 'operator', source_ip: '127.0.0.1' },
    });
  });

  it('records a route too long for the event cut to the schema, still a valid event and a 403', async () => {
    const events: FedgateEvent[] = [];
    const refusals = keyRefusalsTo(async (e) => void events.push(e), '/fedgate/login-service');
    const longRoute = `POST /v1/${'x'.repeat(300)}`;
    await assert.rejects(
      () => requireKeyRole({ client_id: 'operator', roles: [], services: '*' }, 'superlink', longRoute, { client_id: 'operator' }, refusals),
      (err: unknown) => err instanceof FedgateError && err.code === 'forbidden',
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type === 'fedgate.request.refused.v1' && events[0]!.data.action, longRoute.slice(0, REQUEST_REFUSED_MAX_ACTION_CHARS));
    assert.deepEqual(parseEvent(JSON.parse(JSON.stringify(events[0]))), events[0]);
  });

  it('never answers 403 for a refusal it could not record (the failure reaches the edge: 503)', async () => {
    const guard = new SuperlinkGuard(keyRefusalsTo(() => Promise.reject(new Error('outbox down')), '/fedgate/login-service'));
    await assert.rejects(() => guard.canActivate(contextWith({ client_id: 'operator', roles: [], services: '*' })), /outbox down/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { FedgateError } from '@fedgate/contracts';
import { AUDIT_READER_ROLE, AuditReaderGuard } from './audit-reader.guard';

const contextWith = (apiClient: unknown) => ({ switchToHttp: () => ({ getRequest: () => ({ apiClient, method: 'GET', url: '/v1/audit/events', routeOptions: { url: '/v1/audit/events' } }) }) }) as unknown as ExecutionContext;

describe('AuditReaderGuard', () => {
  it('lets a key with the audit-reader role read', async () => {
    assert.equal(await new AuditReaderGuard().canActivate(contextWith({ client_id: 'dev', roles: [AUDIT_READER_ROLE] })), true);
  });

  it('answers 403 forbidden to an authenticated client without the role', async () => {
    for (const client of [{ client_id: 'superlink', roles: [] }, { client_id: 'other', roles: ['admin'] }, undefined]) {
      await assert.rejects(
        () => new AuditReaderGuard().canActivate(contextWith(client)),
        (err: unknown) => err instanceof FedgateError && err.code === 'forbidden' && err.status === 403,
      );
    }
  });
});

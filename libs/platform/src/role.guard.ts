import { CanActivate, ExecutionContext, Inject, Injectable, Optional, type InjectionToken, type Provider, type Type } from '@nestjs/common';
import { FedgateError, requestRefusedEvent, type ApiKeyRole, type FedgateEvent } from '@fedgate/contracts';
import { requestOriginOf, type ApiClient, type AuthenticatedRequest, type RequestOrigin } from './api-key.guard';
import { pathOf } from './request-path';

/**
 * Where a service records the refusal of a key used outside its roles (API.md "Who is
 * calling": 403 forbidden, and the refusal is audited). Services that provide it (through
 * their outbox: `keyRefusalsTo`) audit every refusal; without it the refusal is only a 403.
 */
export interface KeyRefusals {
  record(client: ApiClient, action: string, reason: string, origin: RequestOrigin): Promise<void>;
}
export const KEY_REFUSALS = Symbol('KEY_REFUSALS');

/**
 * KeyRefusals that append a `fedgate.request.refused.v1` event (actor: the key) to the
 * service's outbox and wait until it is stored: a refusal that cannot be audited is a 503,
 * not a 403.
 */
export function keyRefusalsTo(append: (event: FedgateEvent) => Promise<void>, source: string): KeyRefusals {
  return {
    record: (client, action, reason, origin) => append(requestRefusedEvent(source, { actor: { kind: 'key', name: client.client_id }, action, reason, origin })),
  };
}

/**
 * KEY_REFUSALS through the service's outbox (`OutboxStore` of @fedgate/database, given as
 * `outbox`): refusals are rare, so each is stored on its own before the 403 leaves.
 */
export function provideKeyRefusals(source: string, outbox: InjectionToken): Provider {
  return {
    provide: KEY_REFUSALS,
    useFactory: (store: { appendNow(events: readonly FedgateEvent[]): Promise<void> }) => keyRefusalsTo((event) => store.appendNow([event]), source),
    inject: [outbox],
  };
}

/**
 * The key must carry `role` (FEDGATE_API_KEYS `name:sha256hex:role+role:services`); anything
 * else is 403 forbidden, recorded first when the service audits refusals. `action` names the
 * attempt in the audit event, e.g. `POST /v1/verify`.
 */
export async function requireKeyRole(
  client: ApiClient | undefined,
  role: ApiKeyRole,
  action: string,
  origin: RequestOrigin,
  refusals?: KeyRefusals,
): Promise<void> {
  if (client?.roles.includes(role)) return;
  const reason = `This client's key does not have the ${role} role.`;
  if (client && refusals) await refusals.record(client, action, reason, origin);
  throw new FedgateError('forbidden', reason);
}

/** A role guard (a CanActivate that always answers asynchronously: it may audit first). */
export interface RoleGuard extends CanActivate {
  canActivate(context: ExecutionContext): Promise<boolean>;
}

/**
 * A guard for after ApiKeyGuard: only clients whose key carries `role` get through; any other
 * authenticated client is 403 forbidden (audited where the service provides KEY_REFUSALS).
 * Keys get roles one by one, so a SuperLink's key need not be able to read the audit log,
 * and an operator's key cannot verify tokens or log people in as a SuperLink would.
 */
export function requireRole(role: ApiKeyRole): Type<RoleGuard> {
  @Injectable()
  class RoleGuardOf implements RoleGuard {
    constructor(@Optional() @Inject(KEY_REFUSALS) private readonly refusals?: KeyRefusals) {}

    async canActivate(context: ExecutionContext): Promise<boolean> {
      const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
      const client = req.apiClient;
      await requireKeyRole(client, role, `${req.method} ${req.routeOptions.url ?? pathOf(req.url)}`, requestOriginOf(req), this.refusals);
      return true;
    }
  }
  Object.defineProperty(RoleGuardOf, 'name', { value: `RoleGuard(${role})` });
  return RoleGuardOf;
}

/** SuperLink keys only: the calls a SuperLink makes for the people it serves (verify, log in, refresh). */
export const SuperlinkKeyGuard = requireRole('superlink');

import { CanActivate, ExecutionContext, Injectable, type Type } from '@nestjs/common';
import { FedgateError } from '@fedgate/contracts';
import type { AuthenticatedRequest } from './api-key.guard';

/**
 * A guard for after ApiKeyGuard: only clients whose key carries `role` (FEDGATE_API_KEYS
 * `client_id:sha256hex:role+role`) get through; any other authenticated client is 403
 * forbidden. Keys get roles one by one, so a SuperLink's key need not be able to read the
 * audit log or rebuild the authorization projections.
 */
export function requireRole(role: string): Type<CanActivate> {
  @Injectable()
  class RoleGuard implements CanActivate {
    canActivate(context: ExecutionContext): boolean {
      const client = context.switchToHttp().getRequest<AuthenticatedRequest>().apiClient;
      if (!client?.roles.includes(role)) throw new FedgateError('forbidden', `This client's key does not have the ${role} role.`);
      return true;
    }
  }
  Object.defineProperty(RoleGuard, 'name', { value: `RoleGuard(${role})` });
  return RoleGuard;
}

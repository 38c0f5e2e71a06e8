import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { FedgateError } from '@fedgate/contracts';
import type { AuthenticatedRequest } from '@fedgate/platform';

/** The FEDGATE_API_KEYS role that may read the audit log. */
export const AUDIT_READER_ROLE = 'audit-reader';

/** After ApiKeyGuard: only clients whose key has the audit-reader role read the log (else 403 forbidden). */
@Injectable()
export class AuditReaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const client = context.switchToHttp().getRequest<AuthenticatedRequest>().apiClient;
    if (!client?.roles.includes(AUDIT_READER_ROLE)) throw new FedgateError('forbidden', `This client's key does not have the ${AUDIT_READER_ROLE} role.`);
    return true;
  }
}

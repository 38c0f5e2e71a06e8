import { requireRole } from '@fedgate/platform';

/** The FEDGATE_API_KEYS role that may read the audit log. */
export const AUDIT_READER_ROLE = 'audit-reader';

/** After ApiKeyGuard: only clients whose key has the audit-reader role read the log (else 403 forbidden). */
export const AuditReaderGuard = requireRole(AUDIT_READER_ROLE);

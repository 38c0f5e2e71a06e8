import { DependencyUnavailableError } from '@fedgate/contracts';

// Socket failures of a connection to the database (Node's codes, as pg passes them on).
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// @prisma/adapter-pg's names for the same (DriverAdapterError.cause.kind).
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// Prisma's own codes for an unreachable server or a full pool.
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// pg's messages for a connection that ended or never came (they carry no code), and pg-pool's
// for a pool already ended: a request still in flight while the service stops (Nest destroys
// the modules before the HTTP server has drained) gets a 503 to retry elsewhere, not a 500.
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|Client was closed and is not queryable|Cannot use a pool after calling end on the pool/i;

/**
 * Whether a failure means PostgreSQL could not be reached (stopped, restarting, connection
 * lost, no connection free), as opposed to a bug or a bad statement. Looks through the
 * error's cause chain: Prisma wraps pg's error, the outbox writer rethrows pg's own.
 * SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now) and
 * 53300 (too many connections) count as unreachable.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    const e = current as { code?: unknown; kind?: unknown; originalCode?: unknown; message?: unknown; cause?: unknown };
    for (const code of [e.code, e.originalCode]) {
      if (typeof code !== 'string') continue;
      if (SOCKET_CODES.has(code) || PRISMA_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code) || /^57P0[1-3]$/.test(code) || code === '53300') return true;
    }
    if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
    if (typeof e.message === 'string' && PG_MESSAGES.test(e.message)) return true;
    current = e.cause;
  }
  return false;
}

/** The 503 a request gets while PostgreSQL is unreachable: a stable code, never a 500. */
export function databaseUnavailable(cause?: unknown): DependencyUnavailableError {
  return new DependencyUnavailableError('database_unavailable', 'postgres', 'The database cannot answer right now; retry.', cause === undefined ? undefined : { cause });
}

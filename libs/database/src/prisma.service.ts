import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, type PoolConfig } from 'pg';
import { PrismaClient } from './generated/prisma/client';
import type { ReadinessCheck } from '@fedgate/platform';

export type DatabaseTransaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

// A connection attempt to a stopped server fails at once (refused); this bounds one to a
// server that does not answer at all, so a request waits seconds, never forever.
const CONNECTION_TIMEOUT_MS = 3000;

const logger = new Logger('PostgreSQL');

/**
 * pg emits 'error' on a pool (an idle connection broke) and on a connection (it broke while
 * checked out but between queries); without a listener Node ends the process. A broken
 * connection is dropped by the pool and the next query opens a new one, so logging is all
 * that is left to do: the query that needed it fails and is answered 503 database_unavailable.
 */
function logConnectionError(where: string) {
  return (err: Error) => logger.warn({ reason: err.message, where }, 'PostgreSQL connection lost; reconnecting on demand');
}

/** A pg pool that survives PostgreSQL going away and coming back. */
export function createResilientPool(config: PoolConfig): Pool {
  const pool = new Pool({ connectionTimeoutMillis: CONNECTION_TIMEOUT_MS, ...config });
  pool.on('error', logConnectionError('idle connection'));
  pool.on('connect', (client) => client.on('error', logConnectionError('connection')));
  return pool;
}

export function createPrismaClient(databaseUrl: string, poolSize = 10): PrismaClient {
  // the adapter gets its own pool: an external one would be ended by the client's $disconnect
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: CONNECTION_TIMEOUT_MS },
    { onPoolError: logConnectionError('idle connection'), onConnectionError: logConnectionError('transaction connection') },
  );
  return new PrismaClient({ adapter });
}

/** The Prisma client (through @prisma/adapter-pg) shared by one service process, and a small
 * pg pool for the few hot statements written in plain SQL (the outbox). Both survive a
 * PostgreSQL outage: queries fail (503 database_unavailable) while it lasts, then work again. */
@Injectable()
export class PrismaService implements OnModuleDestroy {
  readonly client: PrismaClient;
  readonly pool: Pool;

  constructor(databaseUrl: string) {
    this.client = createPrismaClient(databaseUrl);
    this.pool = createResilientPool({ connectionString: databaseUrl, max: 4 });
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.client.$disconnect(), this.pool.end()]);
  }
}

@Injectable()
export class DatabaseReadinessCheck implements ReadinessCheck {
  readonly name = 'postgres';
  constructor(private readonly prisma: PrismaService) {}
  async check(): Promise<void> {
    await this.prisma.client.$queryRaw`SELECT 1`;
  }
}

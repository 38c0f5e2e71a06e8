import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';
import type { ReadinessCheck } from '@fedgate/platform';

export type DatabaseTransaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export function createPrismaClient(databaseUrl: string, poolSize = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize }) });
}

/** The Prisma client (through @prisma/adapter-pg) shared by one service process, and a small
 * pg pool for the few hot statements written in plain SQL (the outbox). */
@Injectable()
export class PrismaService implements OnModuleDestroy {
  readonly client: PrismaClient;
  readonly pool: Pool;

  constructor(databaseUrl: string) {
    this.client = createPrismaClient(databaseUrl);
    this.pool = new Pool({ connectionString: databaseUrl, max: 4 });
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

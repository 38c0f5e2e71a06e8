import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';
import type { ReadinessCheck } from '@fedgate/platform';

export type DatabaseTransaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export function createPrismaClient(databaseUrl: string, poolSize = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize }) });
}

/** The Prisma client (through @prisma/adapter-pg) shared by one service process. */
@Injectable()
export class PrismaService implements OnModuleDestroy {
  readonly client: PrismaClient;

  constructor(databaseUrl: string) {
    this.client = createPrismaClient(databaseUrl);
  }

  async onModuleDestroy(): Promise<void> {
    await this.client.$disconnect();
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

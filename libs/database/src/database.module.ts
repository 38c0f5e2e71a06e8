import { DynamicModule, Global, Module } from '@nestjs/common';
import { DatabaseReadinessCheck, PrismaService } from './prisma.service';
import { OutboxStore } from './outbox.store';
import { ProcessedEventStore } from './processed-event.store';

/** PostgreSQL through Prisma for a service: the client, the outbox and idempotency stores. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: { databaseUrl: string }): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: PrismaService, useFactory: () => new PrismaService(options.databaseUrl) },
        { provide: OutboxStore, useFactory: (p: PrismaService) => new OutboxStore(p.pool), inject: [PrismaService] },
        { provide: ProcessedEventStore, useFactory: (p: PrismaService) => new ProcessedEventStore(p.client), inject: [PrismaService] },
        DatabaseReadinessCheck,
      ],
      exports: [PrismaService, OutboxStore, ProcessedEventStore, DatabaseReadinessCheck],
    };
  }
}

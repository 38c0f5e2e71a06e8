export * from './prisma.service';
export * from './outbox.store';
export * from './processed-event.store';
export * from './database.module';
export { PrismaClient, Prisma } from './generated/prisma/client';
export * from './outbox-group.writer';
export * from './session-revocation.store';
export * from './unique-violation';

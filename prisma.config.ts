import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Offline machines cannot download Prisma's native schema engine, so by default point the
// CLI at a stand-in that runs @prisma/schema-engine-wasm over @prisma/adapter-pg.
// Set PRISMA_NATIVE_ENGINE=1 where the native engine can be downloaded to use it instead.
if (!process.env.PRISMA_NATIVE_ENGINE) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.resolve(__dirname, 'prisma/schema-engine-shim.cjs');
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    // generate needs no database; migrate commands get the URL from the stack scripts
    url: process.env.FEDGATE_DATABASE_URL ?? 'postgresql://localhost:5432/unset',
    shadowDatabaseUrl: process.env.FEDGATE_SHADOW_DATABASE_URL,
  },
});

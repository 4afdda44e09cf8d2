// Prisma CLI configuration. Offline machines cannot fetch Prisma's Rust engines, so the CLI runs
// its JS/wasm engine through the pg driver adapter (see shared ENVIRONMENT notes).
import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';
import { DEFAULT_DATABASE_URL } from './src/config.js';
import { pgPoolConfig } from './src/db/pg-config.js';

process.env.DATABASE_URL ??= DEFAULT_DATABASE_URL;

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  adapter: async () => new PrismaPg({ ...pgPoolConfig(process.env.DATABASE_URL!), idleTimeoutMillis: 1000 }),
});

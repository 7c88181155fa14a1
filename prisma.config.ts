import { defineConfig } from 'prisma/config';

// Used by the Prisma CLI (generate, and `migrate deploy` where its native
// engine is available). The app itself connects through the pg driver adapter.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/meltano_cloud',
  },
});

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import supertest from 'supertest';
import { createApiApp } from '../../src/app.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { PrismaService } from '../../src/database/prisma.service.js';
import { createTestDatabase, testConfig, type TestDatabase } from './test-env.js';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  prisma: PrismaService;
  http: supertest.Agent;
  close(): Promise<void>;
}

/** The real API (Fastify, PostgreSQL, Redis) on a database of its own, served on an ephemeral port. */
export async function createTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = testConfig(db.url, overrides);
  const app = await createApiApp(config);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    config,
    db,
    prisma: app.get(PrismaService),
    http: supertest.agent(app.getHttpServer()),
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

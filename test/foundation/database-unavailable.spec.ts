import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { unavailableDependency } from '../../src/common/db-errors.js';
import { createTestDatabase, type TestDatabase } from '../support/test-env.js';

/**
 * The errors Prisma raises when PostgreSQL cannot serve a transaction in time (every connection
 * taken while the server restarts, a statement hanging on a dying connection) are an outage the
 * API answers with 503 + Retry-After, not a bug (500). Produced for real, on a pool of one.
 */
describe('transactions PostgreSQL cannot serve in time', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url, max: 1 }) });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('no connection free within maxWait is the database being unavailable', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holder = prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1`;
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    const err = await prisma
      .$transaction(async (tx) => tx.$queryRaw`SELECT 1`, { maxWait: 100 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    release();
    await holder;
    expect(String(err)).toMatch(/Unable to start a transaction in the given time/);
    expect(unavailableDependency(err)).toBe('database');
  });

  it('a transaction outliving its timeout is the database being unavailable', async () => {
    const err = await prisma
      .$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_sleep(0.3)`;
          await tx.$queryRaw`SELECT 1`;
        },
        { timeout: 100 },
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(String(err)).toMatch(/expired transaction|Transaction already closed/);
    expect(unavailableDependency(err)).toBe('database');
  });

  it('a programming error inside a transaction stays a bug', async () => {
    const err = await prisma
      .$transaction(async (tx) => tx.$queryRawUnsafe('SELEC 1'))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).not.toBeNull();
    expect(unavailableDependency(err)).toBeNull();
  });
});

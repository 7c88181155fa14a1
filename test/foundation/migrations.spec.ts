import pg from 'pg';
import { applyMigrations, diffDatabaseToSchema } from '../../src/database/migrator.js';
import { createTestDatabase, type TestDatabase } from '../support/test-env.js';

const isEmpty = (sql: string): boolean => sql.replace(/--.*$/gm, '').trim() === '';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('applying every migration yields exactly what schema.prisma describes', async () => {
    // The template was migrated by global setup; a second apply finds nothing to do.
    expect(await applyMigrations(db.url)).toEqual([]);
    const drift = await diffDatabaseToSchema(db.url);
    expect(isEmpty(drift) ? '' : drift).toBe('');
  });

  it('detects a database that no longer matches the schema', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('DROP INDEX "runs_status_idx"');
      await client.query('ALTER TABLE "projects" DROP COLUMN "root_path"');
    } finally {
      await client.end();
    }
    const drift = await diffDatabaseToSchema(db.url);
    expect(drift).toContain('root_path');
    expect(drift).toContain('runs_status_idx');
  });

  it("records applied migrations in Prisma's own history table", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ migration_name: string; finished_at: Date | null }>(
        'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.finished_at !== null)).toBe(true);
    } finally {
      await client.end();
    }
  });
});

import { randomBytes } from 'node:crypto';
import {
  applyMigrations,
  diffDatabaseToSchema,
  dropDatabase,
  ensureDatabase,
  withDatabaseName,
  writeMigration,
} from '../src/database/migrator.js';
import { loadConfig } from '../src/config/app-config.js';

/**
 * `db.js migrate`: create the database if missing and apply pending migrations.
 * `db.js new <name>`: diff a scratch database (all migrations applied) against
 * schema.prisma and write the difference as a new migration.
 */
async function main(): Promise<void> {
  const [command, name] = process.argv.slice(2);
  const config = loadConfig(process.env);
  switch (command) {
    case 'migrate': {
      if (await ensureDatabase(config.databaseUrl)) console.log('created database');
      const applied = await applyMigrations(config.databaseUrl);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return;
    }
    case 'new': {
      if (!name) throw new Error('usage: npm run db:migration:new -- <name>');
      const scratch = withDatabaseName(
        config.databaseUrl,
        `mc_scratch_${randomBytes(4).toString('hex')}`,
      );
      await ensureDatabase(scratch);
      try {
        await applyMigrations(scratch);
        const sql = await diffDatabaseToSchema(scratch);
        if (!sql.trim() || /^-- This is an empty migration/m.test(sql)) {
          console.log('schema.prisma matches the migrations: nothing to write');
          return;
        }
        console.log(`wrote ${await writeMigration(name, sql)}`);
      } finally {
        await dropDatabase(scratch);
      }
      return;
    }
    case undefined:
    default:
      throw new Error('usage: db.js migrate | db.js new <name>');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

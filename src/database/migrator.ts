import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine, MigrationList } from '@prisma/schema-engine-wasm';

/**
 * Prisma migrations without Prisma's native schema-engine binary: the same
 * engine compiled to WebAssembly, talking to PostgreSQL through the pg driver
 * adapter. Migrations stay in Prisma's format and history table, so
 * `prisma migrate deploy` on a machine with the binary sees the same state.
 */

const projectRoot = findProjectRoot();
export const schemaPath = path.join(projectRoot, 'prisma', 'schema.prisma');
export const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');

function findProjectRoot(): string {
  let dir = path.dirname(new URL(import.meta.url).pathname);
  while (!existsSync(path.join(dir, 'prisma', 'schema.prisma'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('prisma/schema.prisma not found above ' + import.meta.url);
    dir = parent;
  }
  return dir;
}

// Node's WebAssembly global; declared here because the ES lib typings leave it out.
const wasmRuntime = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(
        bytes: Uint8Array,
        imports: Record<string, unknown>,
      ): Promise<{ instance: { exports: Record<string, unknown> } }>;
    };
  }
).WebAssembly;

type EngineModule = typeof import('@prisma/schema-engine-wasm');
let engineModule: Promise<EngineModule> | undefined;

/** Instantiates the WebAssembly module by hand so no --experimental-wasm-modules flag is needed. */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const require = createRequire(import.meta.url);
    const pkgDir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const bindings = (await import(path.join(pkgDir, 'schema_engine_bg.js'))) as EngineModule & {
      __wbg_set_wasm(exports: unknown): void;
    };
    const bytes = await readFile(path.join(pkgDir, 'schema_engine_bg.wasm'));
    const { instance } = await wasmRuntime.instantiate(bytes, {
      './schema_engine_bg.js': bindings,
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
    return bindings;
  })();
  return engineModule;
}

/**
 * The pg driver adapter refuses PostgreSQL's internal one-byte "char" type
 * (OID 18), which the engine's catalog queries return when it introspects a
 * database for `diff`. Reported as text it is read correctly.
 */
class CatalogFriendlyClient extends pg.Client {
  override query(...args: unknown[]): never {
    const patch = (res: pg.QueryResult | undefined): void => {
      for (const field of res?.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 25;
    };
    const last = args.at(-1);
    if (typeof last === 'function') {
      // pg-pool passes a callback rather than awaiting the promise.
      const callback = last as (err: unknown, res?: pg.QueryResult) => void;
      args[args.length - 1] = (err: unknown, res?: pg.QueryResult) => {
        patch(res);
        callback(err, res);
      };
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      return result.then((res: pg.QueryResult) => {
        patch(res);
        return res;
      }) as never;
    }
    return result as never;
  }
}

async function withEngine<T>(
  databaseUrl: string,
  fn: (engine: SchemaEngine, schema: string) => Promise<T>,
): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const schema = await readFile(schemaPath, 'utf8');
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    Client: CatalogFriendlyClient,
    allowExitOnIdle: true,
  });
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    () => undefined,
    adapter,
  );
  try {
    return await fn(engine, schema);
  } finally {
    engine.free();
    await pool.end();
  }
}

async function migrationList(): Promise<MigrationList> {
  const entries = existsSync(migrationsDir)
    ? await readdir(migrationsDir, { withFileTypes: true })
    : [];
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      dirs.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: {
            tag: 'ok' as const,
            value: await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8'),
          },
        },
      })),
    ),
  };
}

const noFilters = { externalTables: [], externalEnums: [] };

/** Applies every migration not yet recorded in `_prisma_migrations`; returns the names applied. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const migrationsList = await migrationList();
  return withEngine(databaseUrl, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList, filters: noFilters });
    return out.appliedMigrationNames;
  });
}

/**
 * SQL that takes a database migrated to `databaseUrl`'s current state to what
 * schema.prisma describes. Empty when they already match.
 */
export async function diffDatabaseToSchema(databaseUrl: string): Promise<string> {
  return withEngine(databaseUrl, async (engine, schema) => {
    const result = await engine.diff({
      // "schemaDatasource" introspects the database the engine's adapter is connected to.
      from: {
        tag: 'schemaDatasource',
        files: [{ path: schemaPath, content: schema }],
        configDir: projectRoot,
      },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return result.stdout ?? '';
  });
}

/** Writes a new migration folder (timestamp_name/migration.sql) holding `sql`. */
export async function writeMigration(name: string, sql: string): Promise<string> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:TZ.]/g, '')
    .slice(0, 14);
  const dir = path.join(
    migrationsDir,
    `${stamp}_${name.replace(/[^a-z0-9_]+/gi, '_').toLowerCase()}`,
  );
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), sql);
  const lock = path.join(migrationsDir, 'migration_lock.toml');
  if (!existsSync(lock)) {
    await writeFile(
      lock,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return dir;
}

/** Splits a connection URL into the server URL (pointing at the `postgres` db) and the database name. */
export function parseDatabaseUrl(databaseUrl: string): { adminUrl: string; database: string } {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`DATABASE_URL names no database: ${databaseUrl}`);
  url.pathname = '/postgres';
  return { adminUrl: url.toString(), database };
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Creates the database named in the URL if it does not exist (optionally as a copy of a template). */
export async function ensureDatabase(databaseUrl: string, template?: string): Promise<boolean> {
  const { adminUrl, database } = parseDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    const suffix = template ? ` TEMPLATE ${quoteIdent(template)}` : '';
    await client.query(`CREATE DATABASE ${quoteIdent(database)}${suffix}`);
    return true;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { adminUrl, database } = parseDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export function withDatabaseName(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/' + encodeURIComponent(database);
  return url.toString();
}

/**
 * Explicit, versioned schema migrations for `@switchyard/postgres`.
 *
 * The package ships its SQL in `sql/NNN_<name>.sql` (`001_queue.sql`, `002_outbox.sql`, …).
 * {@link migrate} applies the files not yet applied, in numeric order, in one transaction under an
 * advisory lock (so two processes migrating at once do not race), and records each applied version
 * in `<schema>.switchyard_migrations`. Nothing else in this package creates or alters tables:
 * producers, consumers and relays only check that the schema is migrated (see
 * {@link requireMigrated}) and fail with a `ConfigurationError` naming `migrate()` when it is not.
 *
 * ## Placeholders in the SQL files
 *
 * The files never name a schema. Before running a file, `migrate` replaces, everywhere in its text
 * (function bodies included):
 *
 * - `{{schema}}` with the schema as a quoted identifier, e.g. `"switchyard"` — use it to qualify
 *   tables, functions and types: `CREATE TABLE {{schema}}.queue (...)`;
 * - `{{schema_name}}` with the bare schema name, e.g. `switchyard` — use it inside string literals
 *   and to build other names: `pg_notify('{{schema_name}}_queue', ...)`.
 *
 * Schema names are restricted to `[A-Za-z_][A-Za-z0-9_]*` (at most 40 characters, so that channel
 * names derived from them stay under PostgreSQL's 63-byte identifier limit); both substitutions are
 * therefore safe without further escaping.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { ConfigurationError } from '@switchyard/core';
import type { ClientBase, Pool, PoolClient } from 'pg';

/** The schema used when none is given. */
export const DEFAULT_SCHEMA = 'switchyard';

/** The table, in the migrated schema, that records applied versions. */
export const MIGRATIONS_TABLE = 'switchyard_migrations';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;
const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;
const SQL_DIR = new URL('../sql/', import.meta.url);

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The schema to create (if missing) and migrate. Default: `"switchyard"`. */
  readonly schema?: string | undefined;
}

/** One SQL file shipped in the package. */
export interface Migration {
  /** The version, the file's numeric prefix (`1` for `001_queue.sql`). */
  readonly version: number;
  /** The file name, e.g. `"001_queue.sql"`. */
  readonly name: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** The migrated schema. */
  readonly schema: string;
  /** The migrations this call applied, in order (empty when the schema was already up to date). */
  readonly applied: readonly Migration[];
  /** The highest version applied to the schema after this call. */
  readonly version: number;
}

/**
 * Checks a schema name and returns it; throws a `ConfigurationError` for anything but
 * `[A-Za-z_][A-Za-z0-9_]*` of at most 40 characters.
 */
export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new ConfigurationError(
      `schema must match [A-Za-z_][A-Za-z0-9_]* and be at most 40 characters long, got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/** `"schema"`, for building SQL. The name must have passed {@link checkSchemaName}. */
export function quoteSchema(schema: string): string {
  return `"${schema}"`;
}

/** The SQL files shipped in the package, in the order {@link migrate} applies them. */
export async function listMigrations(): Promise<readonly Migration[]> {
  const files = await readdir(SQL_DIR);
  const migrations: Migration[] = [];
  for (const name of files) {
    const match = FILE_NAME.exec(name);
    if (match === null) continue;
    migrations.push({ version: Number(match[1]), name });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    const previous = migrations[i - 1] as Migration;
    const current = migrations[i] as Migration;
    if (previous.version === current.version) {
      throw new ConfigurationError(
        `Two migrations share version ${current.version}: ${previous.name}, ${current.name}`,
      );
    }
  }
  return migrations;
}

function substitute(sql: string, schema: string): string {
  return sql.replaceAll('{{schema}}', quoteSchema(schema)).replaceAll('{{schema_name}}', schema);
}

function isPool(target: Pool | ClientBase): target is Pool {
  return typeof (target as Pool).totalCount === 'number';
}

/**
 * Creates the schema if needed and applies the package's SQL files that it does not have yet, in
 * numeric order, in one transaction (all or nothing) under a transaction-level advisory lock keyed
 * on the schema. Safe to call on every deploy and from several processes at once. Call it from a
 * deploy step or at start-up, before creating producers, consumers or relays: they never migrate.
 *
 * @param pool a `pg.Pool` (a client is checked out for the call) or a connected `pg.Client`.
 *
 * @example
 * import pg from 'pg';
 * import { migrate } from '@switchyard/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool, { schema: 'switchyard' });
 */
export async function migrate(pool: Pool | ClientBase, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const migrations = await listMigrations();
  const client: ClientBase = isPool(pool) ? await pool.connect() : pool;
  const q = quoteSchema(schema);
  const applied: Migration[] = [];
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`switchyard.migrate:${schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${q}.${MIGRATIONS_TABLE} (
           version integer PRIMARY KEY,
           name text NOT NULL,
           checksum text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const done = await client.query<{ version: number }>(`SELECT version FROM ${q}.${MIGRATIONS_TABLE}`);
      const versions = new Set(done.rows.map((row) => row.version));
      for (const migration of migrations) {
        if (versions.has(migration.version)) continue;
        const sql = await readFile(new URL(migration.name, SQL_DIR), 'utf8');
        await client.query(substitute(sql, schema));
        await client.query(
          `INSERT INTO ${q}.${MIGRATIONS_TABLE} (version, name, checksum) VALUES ($1, $2, $3)`,
          [migration.version, migration.name, createHash('sha256').update(sql).digest('hex')],
        );
        versions.add(migration.version);
        applied.push(migration);
      }
      await client.query('COMMIT');
      return { schema, applied, version: Math.max(0, ...versions) };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    if (isPool(pool)) (client as PoolClient).release();
  }
}

/**
 * Throws a `ConfigurationError` naming `migrate()` unless `schema` has had `version` applied.
 * Producers, consumers and relays call it once when they start (never on the hot path).
 */
export async function requireMigrated(
  db: Pick<ClientBase, 'query'> | Pick<Pool, 'query'>,
  schema: string,
  version: number,
  what: string,
): Promise<void> {
  const table = await db.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
    `${quoteSchema(schema)}.${MIGRATIONS_TABLE}`,
  ]);
  const result = table.rows[0]?.exists
    ? await db.query<{ applied: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${quoteSchema(schema)}.${MIGRATIONS_TABLE} WHERE version = $1) AS applied`,
        [version],
      )
    : { rows: [{ applied: false }] };
  if (result.rows[0]?.applied !== true) {
    throw new ConfigurationError(
      `${what}: schema "${schema}" is not migrated to version ${version}; run \`await migrate(pool, { schema: '${schema}' })\` from @switchyard/postgres before starting it`,
    );
  }
}

/**
 * The database the outbox examples use: PostgreSQL at `url` when it answers; else PGlite, an
 * embedded PostgreSQL; else none. `line` says which, for the example's first line of output.
 */
import pg from 'pg';

export interface Database {
  readonly line: string;
  readonly pool: pg.Pool | undefined;
  readonly embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 2_000 });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
    return {
      line: `database: PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//')}`,
      pool,
      embedded: false,
      close: () => pool.end(),
    };
  } catch (error) {
    await pool.end().catch(() => undefined);
    const reason = (error as Error).message;
    try {
      const { PGlite } = await import('@electric-sql/pglite');
      const { pglitePool } = await import('./pglite-pool.ts');
      const db = new PGlite();
      await db.waitReady;
      return {
        line: `database: PGlite, an embedded PostgreSQL (no PostgreSQL answers at ${url}: ${reason})`,
        pool: pglitePool(db),
        embedded: true,
        close: () => db.close(),
      };
    } catch (pgliteError) {
      return {
        line: `database: none — no PostgreSQL answers (${reason}) and PGlite did not load (${(pgliteError as Error).message}); the in-memory transport without an outbox`,
        pool: undefined,
        embedded: false,
        close: async () => undefined,
      };
    }
  }
}

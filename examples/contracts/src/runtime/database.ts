import { Pool } from 'pg';
import { install } from '@tidings/postgres';

/** A service's PostgreSQL: its pool and the schema its tables (and its outbox and inbox) live in. */
export interface ServiceDatabase {
  readonly pool: Pool;
  readonly schema: string;
  close(): Promise<void>;
}

/**
 * PostgreSQL when `DATABASE_URL` is set, else undefined (the service keeps its state in memory).
 * Installs the outbox and inbox tables in the schema `<DATABASE_SCHEMA or 'shop'>_<service>`.
 */
export async function openDatabase(service: string, env: NodeJS.ProcessEnv = process.env): Promise<ServiceDatabase | undefined> {
  if (!env.DATABASE_URL) return undefined;
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 10 });
  pool.on('error', (error) => process.stderr.write(`${service}: idle database connection lost: ${error.message}\n`));
  const schema = `${env.DATABASE_SCHEMA ?? 'shop'}_${service}`;
  try {
    await install(pool, { schema });
  } catch (error) {
    await pool.end();
    throw error;
  }
  return { pool, schema, close: () => pool.end() };
}

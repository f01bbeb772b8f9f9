import { Pool } from 'pg';
import { install } from '@tidings/postgres';

/** A service's PostgreSQL: its pool and the schema its tables (and its outbox and inbox) live in. */
export interface ServiceDatabase {
  readonly pool: Pool;
  readonly schema: string;
  close(): Promise<void>;
}

/**
 * PostgreSQL when `url` is set (a service passes its `DATABASE_URL`), else undefined: the service
 * keeps its state in memory. Installs the outbox and inbox tables in the schema `<base>_<service>`.
 */
export async function openDatabase(service: string, url: string | undefined, base = 'shop'): Promise<ServiceDatabase | undefined> {
  if (!url) return undefined;
  const pool = new Pool({ connectionString: url, max: 10 });
  pool.on('error', (error) => process.stderr.write(`${service}: idle database connection lost: ${error.message}\n`));
  const schema = `${base}_${service}`;
  try {
    await install(pool, { schema });
  } catch (error) {
    await pool.end();
    throw error;
  }
  return { pool, schema, close: () => pool.end() };
}

import type { Logger } from 'pino';
import { PgStorage } from './pg-storage.js';
import { isPostgresUrl } from './postgres-url.js';
import { SqliteStorage } from './sqlite-storage.js';
import type { Storage, VersionRetention } from './storage.js';

export interface OpenStorageOptions {
  /** A SQLite file path, ':memory:', or a postgres:// URL. */
  readonly db: string;
  /** PostgreSQL schema. @default 'public' */
  readonly dbSchema?: string;
  /** SQLite synchronous mode. */
  readonly dbSync?: 'NORMAL' | 'FULL';
  readonly retention?: VersionRetention;
  readonly logger: Logger;
}

/** SQLite by default; PostgreSQL when `db` is a postgres:// URL (migrated under an advisory lock). */
export async function openStorage(options: OpenStorageOptions): Promise<Storage> {
  const retention = options.retention ? { retention: options.retention } : {};
  if (isPostgresUrl(options.db)) {
    return PgStorage.open({
      url: options.db,
      ...(options.dbSchema ? { schema: options.dbSchema } : {}),
      ...retention,
      onError: (err) => options.logger.warn({ err }, 'PostgreSQL connection lost (the pool reconnects on the next query)'),
    });
  }
  return new SqliteStorage({ path: options.db, ...(options.dbSync ? { synchronous: options.dbSync } : {}), ...retention });
}

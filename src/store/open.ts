import {
  isPostgresUrl,
  type ListenForCommits,
  openPostgresStore,
  type PoolStats,
  type PostgresOptions,
} from './postgres.js';
import type { SqlUserStore } from './sql-store.js';
import { openSqliteStore, type SqliteOptions } from './sqlite.js';

export interface OpenedStore {
  store: SqlUserStore;
  /** The engine, as OpenTelemetry's `db.system.name` names it. */
  system: 'sqlite' | 'postgresql';
  /** How the engine tells this process of other processes' commits, when it can (PostgreSQL LISTEN/NOTIFY). */
  listenForCommits?: ListenForCommits;
  /** The connection pool (PostgreSQL), or the reader threads (SQLite; writes and short reads use one connection). */
  pool?: PoolStats;
}

/** `db` is a postgres:// URL or a SQLite file path (the embedded default). */
export async function openStore(db: string, options: PostgresOptions & SqliteOptions = {}): Promise<OpenedStore> {
  if (isPostgresUrl(db)) return { system: 'postgresql', ...(await openPostgresStore(db, options)) };
  return { system: 'sqlite', ...(await openSqliteStore(db, options)) };
}

import { isPostgresUrl, type ListenForCommits, openPostgresStore, type PostgresOptions } from './postgres.js';
import type { SqlUserStore } from './sql-store.js';
import { openSqliteStore } from './sqlite.js';

export interface OpenedStore {
  store: SqlUserStore;
  /** How the engine tells this process of other processes' commits, when it can (PostgreSQL LISTEN/NOTIFY). */
  listenForCommits?: ListenForCommits;
}

/** `db` is a postgres:// URL or a SQLite file path (the embedded default). */
export async function openStore(db: string, options: PostgresOptions = {}): Promise<OpenedStore> {
  if (isPostgresUrl(db)) return openPostgresStore(db, options);
  return { store: await openSqliteStore(db) };
}

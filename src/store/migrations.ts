import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Database } from './schema.js';

// Migrations are append-only: a shipped one is never edited, a change is a new one.
// They use only portable column types so SQLite and PostgreSQL share them.
// Each takes Kysely<any>, as Kysely's migration guide says: a migration sees the schema of its own
// moment, not today's `Database`.
/* eslint-disable @typescript-eslint/no-explicit-any */
const migrations: Record<string, Migration> = {
  '0001_users': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_key', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_key', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('users_listing').on('users').columns(['created_at desc', 'id desc']).execute();
    },
  },
  '0002_change_log': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('user_events')
        .addColumn('revision', 'bigint', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('user', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('change_log_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('head_revision', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into change_log_state (id, head_revision) values (1, 0)`.execute(db);
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * `schema`: where Kysely keeps its migration tables. Name it on PostgreSQL,
 * or Kysely finds another schema's tables and takes them for its own.
 */
export function migrator(db: Kysely<Database>, schema?: string): Migrator {
  return new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<Database>, schema?: string): Promise<void> {
  const { error, results } = await migrator(db, schema).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${(error as Error).message}`, { cause: error });
  }
}

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
  '0003_user_revision': {
    // The revision of each user's last change, for validators (ETag) that change on every write.
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('users')
        .addColumn('revision', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`update users set revision = coalesce(
        (select max(e.revision) from user_events e where e.user_id = users.id), 0)`.execute(db);
    },
  },
  '0004_normalised_keys': {
    // Keys compare Unicode text in one form: NFC, then lower case (NFC and NFD spellings of one
    // email were two accounts). Existing keys are recomputed; two users whose emails become one
    // stop the migration, naming both, for an operator to resolve.
    async up(db: Kysely<any>) {
      const key = (text: string) => text.normalize('NFC').toLowerCase();
      let after = '';
      for (;;) {
        const rows = (await db
          .selectFrom('users')
          .select(['id', 'name', 'email', 'name_key', 'email_key'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(1000)
          .execute()) as { id: string; name: string; email: string; name_key: string; email_key: string }[];
        if (rows.length === 0) return;
        for (const row of rows) {
          const keys = { name_key: key(row.name), email_key: key(row.email) };
          if (keys.name_key === row.name_key && keys.email_key === row.email_key) continue;
          const twin = await db
            .selectFrom('users')
            .select('id')
            .where('email_key', '=', keys.email_key)
            .where('id', '<>', row.id)
            .executeTakeFirst();
          if (twin) throw new Error(`users ${twin.id} and ${row.id} have one email in two Unicode forms`);
          await db.updateTable('users').set(keys).where('id', '=', row.id).execute();
        }
        after = rows.at(-1)!.id;
      }
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

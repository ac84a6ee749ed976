import { type Kysely, type Migration, type MigrationProvider, Migrator, SqliteAdapter, sql } from 'kysely';
import { nameGrams } from '../domain/text.js';
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
  '0005_name_search_index': {
    // Substring search (`filter`) served from an index instead of a scan of every name.
    async up(db: Kysely<any>) {
      if (isSqlite(db)) await sqliteNameSearch(db);
      else await postgresNameSearch(db);
    },
  },
  '0006_user_count': {
    // The number of users, kept by each insert and delete in its own transaction: the unfiltered
    // list's total without counting the table.
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('change_log_state')
        .addColumn('user_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`update change_log_state set user_count = (select count(*) from users)`.execute(db);
    },
  },
  '0007_name_grams': {
    // Filters of one or two characters, which a trigram index cannot look up, looked up in an index
    // of each name's one- and two-character substrings (domain/text.ts `nameGrams`, which writes them from
    // then on: should its words ever change, a new migration recomputes them, as this one computes them).
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('users')
        .addColumn('name_grams', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await forEachUser(db, ['id', 'name_key'], async (row: { id: string; name_key: string }) => {
        await db
          .updateTable('users')
          .set({ name_grams: nameGrams(row.name_key) })
          .where('id', '=', row.id)
          .execute();
      });
      if (isSqlite(db)) await sqliteGramIndex(db);
      else await sql`create index users_name_grams on users using gin (string_to_array(name_grams, ' '))`.execute(db);
    },
  },
  '0008_idempotency_keys': {
    // Creates a client may retry (Idempotency-Key, request_id): kept per caller, pruned by age.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['subject', 'key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_created_at').on('idempotency_keys').column('created_at').execute();
    },
  },
};

/** Runs `visit` on every user, in pages of 1,000 by id (a migration may meet a large table). */
async function forEachUser<R extends { id: string }>(
  db: Kysely<any>,
  columns: readonly string[],
  visit: (row: R) => Promise<void>,
): Promise<void> {
  let after = '';
  for (;;) {
    const rows = (await db
      .selectFrom('users')
      .select(columns as string[])
      .where('id', '>', after)
      .orderBy('id')
      .limit(1000)
      .execute()) as R[];
    if (rows.length === 0) return;
    for (const row of rows) await visit(row);
    after = rows.at(-1)!.id;
  }
}

/** SQLite: an FTS5 table of the grams (unicode61 keeps each gram one word; a lookup is of one word, so no positions). */
async function sqliteGramIndex(db: Kysely<any>): Promise<void> {
  await sqliteTextIndex(db, 'users_grams', 'name_grams', `tokenize = 'unicode61', detail = none`);
}

/**
 * An external-content FTS5 table `table` over `users.column`, pointing at rows by `seq`, filled
 * from the rows there are and kept in step by triggers (FTS5's documented pattern).
 */
async function sqliteTextIndex(db: Kysely<any>, table: string, column: string, options: string): Promise<void> {
  const [t, c] = [sql.id(table), sql.id(column)];
  await sql`create virtual table ${t} using fts5(${c}, content = 'users', content_rowid = 'seq', ${sql.raw(options)})`.execute(
    db,
  );
  await sql`insert into ${t} (${t}) values ('rebuild')`.execute(db);
  const trigger = (event: string) => sql.id(`${table}_${event}`);
  await sql`create trigger ${trigger('insert')} after insert on users begin
    insert into ${t} (rowid, ${c}) values (new.seq, new.${c});
  end`.execute(db);
  await sql`create trigger ${trigger('delete')} after delete on users begin
    insert into ${t} (${t}, rowid, ${c}) values ('delete', old.seq, old.${c});
  end`.execute(db);
  await sql`create trigger ${trigger('update')} after update of ${c} on users begin
    insert into ${t} (${t}, rowid, ${c}) values ('delete', old.seq, old.${c});
    insert into ${t} (rowid, ${c}) values (new.seq, new.${c});
  end`.execute(db);
}

function isSqlite(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * SQLite: an FTS5 trigram index over `name_key` (already NFC and lower-cased, so the index compares
 * it exactly: case_sensitive 1), kept in step by triggers. An external-content FTS5 table points
 * at its rows by integer key, and a table whose primary key is text has only an implicit rowid,
 * which VACUUM may renumber; so `users` is rebuilt with `seq INTEGER PRIMARY KEY`, a rowid that
 * stays. Queries by `id` cost the same as before (a text primary key was a separate unique index
 * on a rowid table already).
 */
async function sqliteNameSearch(db: Kysely<any>): Promise<void> {
  await sql`create table users_next (
    seq integer primary key,
    id text not null unique,
    name text not null,
    name_key text not null,
    email text not null,
    email_key text not null unique,
    role text not null,
    tags text not null default '[]',
    created_at bigint not null,
    updated_at bigint not null,
    revision bigint not null default 0
  )`.execute(db);
  await sql`insert into users_next (seq, id, name, name_key, email, email_key, role, tags, created_at, updated_at, revision)
    select rowid, id, name, name_key, email, email_key, role, tags, created_at, updated_at, revision from users`.execute(
    db,
  );
  await sql`drop table users`.execute(db);
  await sql`alter table users_next rename to users`.execute(db);
  await db.schema.createIndex('users_listing').on('users').columns(['created_at desc', 'id desc']).execute();
  await sqliteTextIndex(db, 'users_search', 'name_key', `tokenize = 'trigram case_sensitive 1'`);
}

/**
 * PostgreSQL: a pg_trgm GIN index, which serves `name_key like '%…%'` as it is. The extension is
 * database-wide and trusted (a database owner may create it, PostgreSQL 13+); it goes into
 * `public` unless it is installed already, and its operator class is named with its schema,
 * since the search_path may not include it. Instances migrating other schemas at the same moment
 * would race to create it (a unique violation), so creating it is serialised by an advisory lock.
 */
async function postgresNameSearch(db: Kysely<any>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('twinapi: create extension pg_trgm'))`.execute(db);
  await sql`create extension if not exists pg_trgm with schema public`.execute(db);
  const { rows } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm'`.execute(db);
  const opclass = sql`${sql.id(rows[0]!.schema)}.gin_trgm_ops`;
  await sql`create index users_name_search on users using gin (name_key ${opclass})`.execute(db);
}

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

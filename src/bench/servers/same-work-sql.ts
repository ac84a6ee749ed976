// What the hand-written same-work baselines share: the reads and writes an expert would write
// against the lab's database with its driver and nothing of ours — a prepared lookup by id, a
// keyset page, the page token decoded in three lines; a create or an update with its change-log row
// in one transaction that takes the next revision first (the guarantee every watcher relies on),
// as ours do. The columns the schema holds (the name's search key and grams) are computed by the
// project's own pure helpers, so both servers write the very same rows. SQLite: better-sqlite3;
// PostgreSQL: a pg pool of named (prepared) statements, as many connections as our server's default pool.
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId } from '../../domain/ids.js';
import { searchKey } from '../../domain/user.js';
import { nameGrams } from '../../domain/text.js';
import { type CreateUserRequest, type User, UserRole } from '../../gen/users/v1/users.js';

export interface UserRow {
  id: string;
  name: string;
  email: string;
  role: string;
  tags: string;
  /** Milliseconds (pg reads a bigint as a string). */
  created_at: number | string;
  updated_at: number | string;
  revision: number | string;
}

export interface NewUser {
  name: string;
  email: string;
  role: string;
  tags: string[];
}

/** A write's outcome: the row, or why there is none. */
export type Written = UserRow | 'email-taken' | 'not-found';

/** Thrown inside a transaction, so that it rolls back (its revision with it: the log stays gap-free). */
const NOT_FOUND = new Error('not found');

/** A write's outcome, from the transaction that threw (rolled back) or returned. */
async function outcome(write: () => UserRow | Promise<UserRow>): Promise<Written> {
  try {
    return await write();
  } catch (error) {
    if (error === NOT_FOUND) return 'not-found';
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505') return 'email-taken';
    throw error;
  }
}

export interface SameWork {
  user(id: string): Promise<UserRow | undefined>;
  /** A page after the token's cursor (the lab's tokens: base64url JSON `{c: createdAt, i: id}`). */
  page(token: string, limit: number): Promise<UserRow[]>;
  create(user: NewUser): Promise<Written>;
  /** Renames a user. */
  rename(id: string, name: string): Promise<Written>;
  close(): Promise<void>;
}

const cursorOf = (token: string) => JSON.parse(Buffer.from(token, 'base64url').toString()) as { c: number; i: string };

export function openSameWork(db: string): SameWork {
  return db.startsWith('postgres') ? postgresSameWork(db) : sqliteSameWork(db);
}

// The revision too: every representation of ours carries it (and the etag made of it).
const COLUMNS = 'id, name, email, role, tags, created_at, updated_at, revision';
const SQL = {
  user: `select ${COLUMNS} from users where id = $1`,
  first: `select ${COLUMNS} from users order by created_at desc, id desc limit $1`,
  after: `select ${COLUMNS} from users where (created_at, id) < ($1, $2) order by created_at desc, id desc limit $3`,
  reserve: `update change_log_state set head_revision = head_revision + 1, user_count = user_count + $1
            where id = 1 returning head_revision`,
  insert: `insert into users (id, name, name_key, name_grams, email, email_key, role, tags, created_at, updated_at, revision)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning ${COLUMNS}`,
  rename: `update users set name = $1, name_key = $2, name_grams = $3, updated_at = $4, revision = $5
           where id = $6 returning ${COLUMNS}, name_key, email_key`,
  event: `insert into user_events (revision, type, user_id, "user", occurred_at) values ($1, $2, $3, $4, $5)`,
};
/** The same statements in SQLite's `?` placeholders (each $n is used once, in order). */
const sqlite = (text: string) => text.replace(/\$\d+/g, '?');

/** The change log's copy of a user: its row (as ours logs it: the columns less the grams). */
const logged = (row: UserRow & { name_key: string; email_key: string; revision: number }) => JSON.stringify(row);

function insertValues(user: NewUser, revision: number) {
  const now = Date.now();
  const nameKey = searchKey(user.name);
  return [
    newId(now),
    user.name,
    nameKey,
    nameGrams(nameKey),
    user.email,
    searchKey(user.email),
    user.role,
    JSON.stringify(user.tags),
    now,
    now,
    revision,
  ] as const;
}

function sqliteSameWork(file: string): SameWork {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // As ours: every commit durable (FULL), and a writer waits for another process's lock.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  const byId = db.prepare<[string], UserRow>(sqlite(SQL.user));
  const after = db.prepare<[number, string, number], UserRow>(sqlite(SQL.after));
  const first = db.prepare<[number], UserRow>(sqlite(SQL.first));
  const reserve = db.prepare<[number], { head_revision: number }>(sqlite(SQL.reserve));
  const insert = db.prepare<unknown[], UserRow>(sqlite(SQL.insert));
  const rename = db.prepare<unknown[], UserRow & { name_key: string; email_key: string; revision: number }>(
    sqlite(SQL.rename),
  );
  const event = db.prepare(sqlite(SQL.event));
  const create = db.transaction((user: NewUser): UserRow => {
    const revision = reserve.get(1)!.head_revision;
    const values = insertValues(user, revision);
    const row = insert.get(...values)!;
    const log = logged({ ...row, name_key: values[2], email_key: values[5], revision });
    event.run(revision, 'EVENT_TYPE_CREATED', row.id, log, values[8]);
    return row;
  });
  const renameTx = db.transaction((id: string, name: string): UserRow => {
    const revision = reserve.get(0)!.head_revision;
    const now = Date.now();
    const nameKey = searchKey(name);
    const row = rename.get(name, nameKey, nameGrams(nameKey), now, revision, id);
    if (!row) throw NOT_FOUND;
    event.run(revision, 'EVENT_TYPE_UPDATED', id, logged(row), now);
    return row;
  });
  return {
    user: async (id) => byId.get(id),
    async page(token, limit) {
      if (token === '') return first.all(limit);
      const { c, i } = cursorOf(token);
      return after.all(c, i, limit);
    },
    // BEGIN IMMEDIATE, as ours: the write lock first, so a read-then-write never fails half-way.
    create: async (user) => outcome(() => create.immediate(user)),
    rename: async (id, name) => outcome(() => renameTx.immediate(id, name)),
    close: async () => {
      db.close();
    },
  };
}

function postgresSameWork(url: string): SameWork {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const rows = async <T extends pg.QueryResultRow>(
    client: pg.Pool | pg.PoolClient,
    name: string,
    text: string,
    values: unknown[],
  ) => (await client.query<T>({ name, text, values })).rows;
  /** One transaction on one connection: BEGIN, `work`, COMMIT (ROLLBACK on failure). */
  const transaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  // As ours: other instances hear of the commit (NOTIFY is delivered at commit), on the schema's channel.
  let channel: Promise<string> | undefined;
  const channelOf = (client: pg.PoolClient) =>
    (channel ??= rows<{ s: string }>(client, 'schema', 'select current_schema() as s', []).then(
      ([row]) => `twinapi_changes.${row!.s}`,
    ));
  const reserve = async (client: pg.PoolClient, users: number) =>
    Number((await rows<{ head_revision: string }>(client, 'reserve', SQL.reserve, [users]))[0]!.head_revision);
  const notify = async (client: pg.PoolClient, revision: number) => {
    await rows(client, 'notify', 'select pg_notify($1, $2)', [await channelOf(client), String(revision)]);
  };
  return {
    user: async (id) => (await rows<UserRow>(pool, 'user-by-id', SQL.user, [id]))[0],
    page(token, limit) {
      if (token === '') return rows<UserRow>(pool, 'first-page', SQL.first, [limit]);
      const { c, i } = cursorOf(token);
      return rows<UserRow>(pool, 'page-after', SQL.after, [c, i, limit]);
    },
    create: (user) =>
      outcome(() =>
        transaction(async (client) => {
          const revision = await reserve(client, 1);
          const values = insertValues(user, revision);
          const row = (await rows<UserRow>(client, 'insert', SQL.insert, [...values]))[0]!;
          const log = logged({ ...row, name_key: values[2], email_key: values[5], revision });
          await rows(client, 'event', SQL.event, [revision, 'EVENT_TYPE_CREATED', row.id, log, values[8]]);
          await notify(client, revision);
          return row;
        }),
      ),
    rename: (id, name) =>
      outcome(() =>
        transaction(async (client) => {
          const revision = await reserve(client, 0);
          const now = Date.now();
          const nameKey = searchKey(name);
          const [row] = await rows<UserRow & { name_key: string; email_key: string; revision: number }>(
            client,
            'rename',
            SQL.rename,
            [name, nameKey, nameGrams(nameKey), now, revision, id],
          );
          if (!row) throw NOT_FOUND;
          await rows(client, 'event', SQL.event, [revision, 'EVENT_TYPE_UPDATED', id, logged(row), now]);
          await notify(client, revision);
          return row;
        }),
      ),
    close: () => pool.end(),
  };
}

/** A row as the users.v1.User message the gRPC baselines send. */
export const userMessage = (row: UserRow): User => ({
  id: row.id,
  name: row.name,
  email: row.email,
  role: UserRole[row.role as keyof typeof UserRole],
  tags: JSON.parse(row.tags) as string[],
  createdAt: new Date(Number(row.created_at)),
  updatedAt: new Date(Number(row.updated_at)),
  revision: Number(row.revision),
  etag: `"r${row.revision}"`,
});

/** A CreateUserRequest's user as the rows take it (an unset role is a user). */
export const newUserOf = (request: CreateUserRequest): NewUser => ({
  name: request.name,
  email: request.email,
  role: request.role === UserRole.USER_ROLE_UNSPECIFIED ? 'USER_ROLE_USER' : UserRole[request.role],
  tags: request.tags,
});

// What the hand-written same-work baselines share: the reads an expert would write against the lab's
// database with its driver and nothing of ours — a prepared lookup by id, a keyset page, the page
// token decoded in three lines. SQLite: better-sqlite3; PostgreSQL: a pg pool of named (prepared)
// statements, as many connections as our server's default pool.
import Database from 'better-sqlite3';
import pg from 'pg';

export interface UserRow {
  id: string;
  name: string;
  email: string;
  role: string;
  tags: string;
  /** Milliseconds (pg reads a bigint as a string). */
  created_at: number | string;
  updated_at: number | string;
}

export interface Reads {
  user(id: string): Promise<UserRow | undefined>;
  /** A page after the token's cursor (the lab's tokens: base64url JSON `{c: createdAt, i: id}`). */
  page(token: string, limit: number): Promise<UserRow[]>;
  close(): Promise<void>;
}

const cursorOf = (token: string) => JSON.parse(Buffer.from(token, 'base64url').toString()) as { c: number; i: string };

export function openReads(db: string): Reads {
  return db.startsWith('postgres') ? postgresReads(db) : sqliteReads(db);
}

const COLUMNS = 'id, name, email, role, tags, created_at, updated_at';

function sqliteReads(file: string): Reads {
  const db = new Database(file, { readonly: true });
  db.pragma('journal_mode = WAL');
  const byId = db.prepare<[string], UserRow>(`select ${COLUMNS} from users where id = ?`);
  const after = db.prepare<[number, number, string, number], UserRow>(
    `select ${COLUMNS} from users where created_at < ? or (created_at = ? and id < ?)
     order by created_at desc, id desc limit ?`,
  );
  const first = db.prepare<[number], UserRow>(`select ${COLUMNS} from users order by created_at desc, id desc limit ?`);
  return {
    user: async (id) => byId.get(id),
    async page(token, limit) {
      if (token === '') return first.all(limit);
      const { c, i } = cursorOf(token);
      return after.all(c, c, i, limit);
    },
    close: async () => {
      db.close();
    },
  };
}

function postgresReads(url: string): Reads {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const rows = async (name: string, text: string, values: unknown[]) =>
    (await pool.query<UserRow>({ name, text, values })).rows;
  return {
    user: async (id) => (await rows('user-by-id', `select ${COLUMNS} from users where id = $1`, [id]))[0],
    page(token, limit) {
      if (token === '') {
        return rows('first-page', `select ${COLUMNS} from users order by created_at desc, id desc limit $1`, [limit]);
      }
      const { c, i } = cursorOf(token);
      return rows(
        'page-after',
        `select ${COLUMNS} from users where created_at < $1 or (created_at = $1 and id < $2)
         order by created_at desc, id desc limit $3`,
        [c, i, limit],
      );
    },
    close: () => pool.end(),
  };
}

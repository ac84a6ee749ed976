// What the hand-written same-work baselines share: the reads an expert would write against the lab's
// SQLite file with better-sqlite3 and nothing of ours — a prepared lookup by id, a keyset page, the
// page token decoded in three lines.
import Database from 'better-sqlite3';

export interface UserRow {
  id: string;
  name: string;
  email: string;
  role: string;
  tags: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, name, email, role, tags, created_at, updated_at';

export function openReads(file: string) {
  const db = new Database(file, { readonly: true });
  db.pragma('journal_mode = WAL');
  const byId = db.prepare<[string], UserRow>(`select ${COLUMNS} from users where id = ?`);
  const after = db.prepare<[number, number, string, number], UserRow>(
    `select ${COLUMNS} from users where created_at < ? or (created_at = ? and id < ?)
     order by created_at desc, id desc limit ?`,
  );
  const first = db.prepare<[number], UserRow>(`select ${COLUMNS} from users order by created_at desc, id desc limit ?`);
  return {
    user: (id: string) => byId.get(id),
    /** A page after the token's cursor (the lab's tokens: base64url JSON `{c: createdAt, i: id}`). */
    page(token: string, limit: number): UserRow[] {
      if (token === '') return first.all(limit);
      const { c, i } = JSON.parse(Buffer.from(token, 'base64url').toString()) as { c: number; i: string };
      return after.all(c, c, i, limit);
    },
    close: () => db.close(),
  };
}

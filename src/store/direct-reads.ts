// The store's hottest reads — a user by id (or a batch of them), a page of the listing without a
// filter, the change log's newest events (read after every commit) — written
// against each engine's own driver instead of through Kysely. Measured on GetUser (docs/lab.md,
// Our cost over hand-written code): building or even reusing a compiled query, Kysely's connection provider (a mutex on
// SQLite) and the promise hops it puts around better-sqlite3's synchronous calls cost more than
// SQLite's lookup itself; on PostgreSQL a read under a deadline was a transaction of four round
// trips (BEGIN, set_config, SELECT, COMMIT) of unprepared statements. The SQL is written once here.
import type { Cursor } from '../domain/pagination.js';
import { EVENT_COLUMNS, USER_COLUMNS, type UserRow } from './rows.js';
import type { UserEventsTable } from './schema.js';

type MaybePromise<T> = T | Promise<T>;

export interface DirectReads {
  /**
   * False while a read cannot go direct now: SQLite's one connection is inside a write transaction
   * (between its statements, whose uncommitted rows it must not see); the store then reads through
   * Kysely, which waits its turn.
   */
  ready(): boolean;
  /** `timeLeftMs`: the caller's deadline, in ms from now (undefined: none), which the engine enforces if it can. */
  userById(id: string, timeLeftMs: number | undefined): MaybePromise<UserRow | undefined>;
  /** The users of `ids` (distinct, a bounded number) that exist, in any order: one statement, the ids one parameter. */
  usersByIds(ids: readonly string[], timeLeftMs: number | undefined): MaybePromise<UserRow[]>;
  /** The first `limit` users of the listing order, after `after` when given. */
  listed(after: Cursor | undefined, limit: number, timeLeftMs: number | undefined): MaybePromise<UserRow[]>;
  /**
   * `listed` and the change log's head in one statement, which sees one snapshot: the revision the
   * page reflects exactly, in the page's round trip. Where a statement is no round trip (SQLite),
   * absent: the store reads the head around the page instead.
   */
  listedAt?(
    after: Cursor | undefined,
    limit: number,
    timeLeftMs: number | undefined,
  ): Promise<{ rows: UserRow[]; revision: number }>;
  /** The change log's head revision (the last committed). */
  head(timeLeftMs: number | undefined): MaybePromise<number>;
  /** The change log's events after `revision`, oldest first, at most `limit` (what the change feed tails after every commit). */
  eventsAfter(revision: number, limit: number): MaybePromise<UserEventsTable[]>;
}

/**
 * The statements, in an engine's placeholder style (`?` or `$1`); the same text Kysely would build,
 * so the same plans. But `idIn`: how the engine tests `id` against one parameter holding a list of
 * ids, so that a batch of any size is one prepared statement (Kysely's `in` list is one a size).
 */
export function directSql(placeholder: (n: number) => string, idIn: string) {
  const columns = USER_COLUMNS.join(', ');
  const order = 'order by created_at desc, id desc';
  return {
    userById: `select ${columns} from users where id = ${placeholder(1)}`,
    usersByIds: `select ${columns} from users where ${idIn}`,
    first: `select ${columns} from users ${order} limit ${placeholder(1)}`,
    after: `select ${columns} from users where (created_at, id) < (${placeholder(1)}, ${placeholder(2)}) ${order} limit ${placeholder(3)}`,
    head: 'select head_revision from change_log_state where id = 1',
    // The page beside the head, one row per user (one row of nulls for an empty page).
    firstAt: `select h.head_revision, u.* from change_log_state h left join lateral (select ${columns} from users ${order} limit ${placeholder(1)}) u on true where h.id = 1`,
    afterAt: `select h.head_revision, u.* from change_log_state h left join lateral (select ${columns} from users where (created_at, id) < (${placeholder(1)}, ${placeholder(2)}) ${order} limit ${placeholder(3)}) u on true where h.id = 1`,
    // Quoted: `user` is a reserved word in PostgreSQL.
    eventsAfter: `select ${EVENT_COLUMNS.map((c) => `"${c}"`).join(', ')} from user_events where revision > ${placeholder(1)} order by revision limit ${placeholder(2)}`,
  };
}

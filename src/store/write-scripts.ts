// The store's writes as scripts: each yields its statements one by one and receives their rows, and
// each engine's driver runs a script in one transaction — better-sqlite3 synchronously, from BEGIN
// IMMEDIATE to COMMIT in one turn of the event loop; node-pg one round trip a statement. Written
// once, run by either. Through Kysely, the query builder's immutable nodes (frozen objects and
// copies per statement) cost more than SQLite's whole write (measured on UpdateUser: 1.5 million
// instructions against 0.6 million for the same statements by hand).
import { emailAlreadyExists, idempotencyKeyReused, userNotFound } from '../domain/errors.js';
import type { IdempotentRequest } from '../domain/ports.js';
import { type EventType, searchKey, type User, type UserEvent } from '../domain/user.js';
import { EVENT_COLUMNS, eventToRow, rowToUser, USER_COLUMNS, type UserRow, userToRow } from './rows.js';
import type { UsersTable } from './schema.js';

/** One statement: SQL in the engine's placeholders, and its parameters. */
export interface Statement {
  sql: string;
  params: readonly unknown[];
}

type Row = Record<string, unknown>;

/** A write, as the statements it runs: each `yield` is one statement, answered with its rows. */
export type WriteScript<T> = Generator<Statement, T, Row[]>;

/** How an engine spells what the scripts need. */
export interface SqlStyle {
  /** The n-th parameter (1-based): `?` or `$n`. */
  placeholder(n: number): string;
  /** Whether `select … for update` exists (PostgreSQL); SQLite locks the whole database per write anyway. */
  rowLocks: boolean;
  isUniqueViolation(error: unknown): boolean;
  /** A statement run after a write's events, in its transaction (PostgreSQL: NOTIFY other instances). */
  afterAppend?(headRevision: number): Statement;
}

/** Rows per INSERT: keeps every statement under SQLite's bound-parameter limit. */
export const INSERT_CHUNK = 500;

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += INSERT_CHUNK) yield items.slice(i, i + INSERT_CHUNK);
}

const USER_ROW_COLUMNS = [
  'id',
  'name',
  'name_key',
  'name_grams',
  'email',
  'email_key',
  'role',
  'tags',
  'created_at',
  'updated_at',
  'revision',
] as const satisfies readonly (keyof UsersTable)[];

/**
 * The columns an update sets together, by what the caller changed: a name's key and grams go with
 * it, an email's key with it. SQLite rewrites every index over a column named in SET and fires the
 * search index's triggers (`after update of name_key`, …) whatever the values, so an update sets
 * only the groups that changed, and the two that always do.
 */
const UPDATE_GROUPS = [['name', 'name_key', 'name_grams'], ['email', 'email_key'], ['role'], ['tags']] as const;
const ALWAYS_UPDATED = ['updated_at', 'revision'] as const;
type UpdatedColumn = (typeof UPDATE_GROUPS)[number][number] | (typeof ALWAYS_UPDATED)[number];

/** Which of UPDATE_GROUPS differ between `current` and `next` (bit i: group i), by each group's first column. */
function changedGroups(current: UserRow, next: UsersTable): number {
  let mask = 0;
  UPDATE_GROUPS.forEach(([lead], i) => {
    if (current[lead] !== next[lead]) mask |= 1 << i;
  });
  return mask;
}

/** The statements' texts, made once per engine (and per row count, for multi-row inserts). */
export class WriteStatements {
  readonly reserve: string;
  readonly selectForChange: string;
  readonly deleteReturning: string;
  /** A caller's kept idempotency key, and its removal once expired. */
  readonly idempotencyKey: string;
  readonly forgetIdempotencyKey: string;
  private readonly made = new Map<string, string>();
  private readonly updates = new Map<number, { sql: string; columns: readonly UpdatedColumn[] }>();

  constructor(readonly style: SqlStyle) {
    const p = (n: number) => style.placeholder(n);
    const read = USER_COLUMNS.join(', ');
    this.reserve = `update change_log_state set head_revision = head_revision + ${p(1)}, user_count = user_count + ${p(2)} where id = 1 returning head_revision`;
    this.selectForChange = `select ${read} from users where id = ${p(1)}${style.rowLocks ? ' for update' : ''}`;
    this.deleteReturning = `delete from users where id = ${p(1)} returning ${read}`;
    const keyOfCaller = `where subject = ${p(1)} and key = ${p(2)}`;
    this.idempotencyKey = `select fingerprint, result, created_at from idempotency_keys ${keyOfCaller}`;
    this.forgetIdempotencyKey = `delete from idempotency_keys ${keyOfCaller}`;
  }

  /** `update users set <the changed groups' columns, updated_at, revision> where id = ?`, per set of groups (16 at most). */
  update(groups: number): { sql: string; columns: readonly UpdatedColumn[] } {
    let statement = this.updates.get(groups);
    if (!statement) {
      const columns = [...UPDATE_GROUPS.filter((_, i) => groups & (1 << i)).flat(), ...ALWAYS_UPDATED];
      const set = columns.map((c, i) => `${c} = ${this.style.placeholder(i + 1)}`).join(', ');
      const sql = `update users set ${set} where id = ${this.style.placeholder(columns.length + 1)}`;
      this.updates.set(groups, (statement = { sql, columns }));
    }
    return statement;
  }

  /** The emails among `count` keys already taken. */
  takenEmails(count: number): string {
    const sql = () => `select email_key from users where email_key in (${this.list(1, count)})`;
    return this.once(`taken ${count}`, sql, count === 1);
  }

  /** An insert of `rows` rows of `columns` into `table`. */
  insert(table: 'users' | 'user_events' | 'idempotency_keys', columns: readonly string[], rows: number): string {
    return this.once(
      `${table} ${rows}`,
      () => {
        const values = Array.from({ length: rows }, (_, r) => `(${this.list(r * columns.length + 1, columns.length)})`);
        // Quoted: `user` is a reserved word in PostgreSQL.
        return `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) values ${values.join(', ')}`;
      },
      rows === 1,
    );
  }

  private list(from: number, count: number): string {
    return Array.from({ length: count }, (_, i) => this.style.placeholder(from + i)).join(', ');
  }

  /** A text made once when it is one row's (every single create); a batch's, each time (its work dwarfs it). */
  private once(key: string, make: () => string, single: boolean): string {
    if (!single) return make();
    let text = this.made.get(key);
    if (text === undefined) this.made.set(key, (text = make()));
    return text;
  }
}

/**
 * Takes the next `revisions` revisions from the change log's head row, and changes the user count by
 * `users`; returns the first. That row's lock orders all writers, so revisions become visible in
 * commit order with no gap, and what a write reads after it cannot change under it (no lost
 * update); holding it first, no writer ever waits for another while holding a lock that one needs
 * (no deadlock).
 */
function* reserveRevisions(s: WriteStatements, revisions: number, users: number): WriteScript<number> {
  const [row] = yield { sql: s.reserve, params: [revisions, users] };
  return Number(row!.head_revision) - revisions + 1;
}

/**
 * Logs one event per user (each carries its revision, taken by reserveRevisions); `rows`: the users'
 * rows, when the write made them already.
 */
function* appendEvents(
  s: WriteStatements,
  type: EventType,
  users: readonly User[],
  rows?: readonly UsersTable[],
): WriteScript<UserEvent[]> {
  const timestamp = new Date();
  const events = users.map((user): UserEvent => ({ type, user, timestamp, revision: user.revision }));
  for (const chunk of chunks(events.map((event, i) => eventToRow(event, rows?.[i])))) {
    yield {
      sql: s.insert('user_events', EVENT_COLUMNS, chunk.length),
      params: chunk.flatMap((row) => EVENT_COLUMNS.map((c) => row[c])),
    };
  }
  const after = s.style.afterAppend?.(events.at(-1)!.revision);
  if (after) yield after;
  return events;
}

/** Inserts all or none; a taken email raises EMAIL_ALREADY_EXISTS naming the item. */
export function* insertUsers(
  s: WriteStatements,
  users: readonly User[],
  fieldPath: (index: number) => string,
): WriteScript<UserEvent[]> {
  const first = yield* reserveRevisions(s, users.length, users.length);
  return yield* insertReserved(s, users, fieldPath, first);
}

/** The insert itself, its revisions reserved from `first` on. */
function* insertReserved(
  s: WriteStatements,
  users: readonly User[],
  fieldPath: (index: number) => string,
  first: number,
): WriteScript<UserEvent[]> {
  const keys = users.map((u) => searchKey(u.email));
  for (const chunk of chunks(keys)) {
    const [taken] = yield { sql: s.takenEmails(chunk.length), params: chunk };
    if (taken) {
      const index = keys.indexOf(String(taken.email_key));
      throw emailAlreadyExists(fieldPath(index), users.length > 1 ? index : undefined);
    }
  }
  const stored = users.map((user, i) => ({ ...user, revision: first + i }));
  const rows = stored.map(userToRow);
  try {
    for (const chunk of chunks(rows)) {
      yield {
        sql: s.insert('users', USER_ROW_COLUMNS, chunk.length),
        params: chunk.flatMap((row) => USER_ROW_COLUMNS.map((c) => row[c])),
      };
    }
  } catch (error) {
    // Another instance committed the email between the check and the insert.
    if (s.style.isUniqueViolation(error)) throw emailAlreadyExists(fieldPath(0));
    throw error;
  }
  return yield* appendEvents(s, 'EVENT_TYPE_CREATED', stored, rows);
}

/**
 * Thrown by insertUsersOnce when the key was used before: the transaction rolls back (the revisions
 * it reserved with it, so the log stays gap-free) and the store answers with the kept result.
 */
export class Replayed extends Error {
  constructor(readonly users: User[]) {
    super('replayed');
  }
}

/**
 * insertUsers, once per key. The key is looked up after the revisions are reserved: that lock (and
 * SQLite's write lock) orders every writer, so of two calls with one key the second sees the first's.
 */
export function* insertUsersOnce(
  s: WriteStatements,
  users: readonly User[],
  fieldPath: (index: number) => string,
  request: IdempotentRequest,
  now: number,
): WriteScript<UserEvent[]> {
  const first = yield* reserveRevisions(s, users.length, users.length);
  const [kept] = yield { sql: s.idempotencyKey, params: [request.subject, request.key] };
  // Expired, and not pruned yet: forgotten now.
  if (kept && Number(kept.created_at) < request.keptSince) {
    yield { sql: s.forgetIdempotencyKey, params: [request.subject, request.key] };
  } else if (kept) {
    if (kept.fingerprint !== request.fingerprint) throw idempotencyKeyReused(request.key, request.field);
    throw new Replayed((JSON.parse(String(kept.result)) as UserRow[]).map(rowToUser));
  }
  const events = yield* insertReserved(s, users, fieldPath, first);
  const result = JSON.stringify(events.map((e) => userRecord(e.user)));
  yield {
    sql: s.insert('idempotency_keys', IDEMPOTENCY_COLUMNS, 1),
    params: [request.subject, request.key, request.fingerprint, result, now],
  };
  return events;
}

const IDEMPOTENCY_COLUMNS = ['subject', 'key', 'fingerprint', 'result', 'created_at'] as const;

/** A user as a row rowToUser reads back (no keys or grams). */
function userRecord(user: User): UserRow {
  const { name_key: _k, name_grams: _g, email_key: _e, ...row } = userToRow(user);
  return row;
}

/** Reads the user, lets `change` compute the new one, writes it; USER_NOT_FOUND if absent. */
export function* updateUser(s: WriteStatements, id: string, change: (current: User) => User): WriteScript<UserEvent> {
  const revision = yield* reserveRevisions(s, 1, 0);
  const [row] = yield { sql: s.selectForChange, params: [id] };
  if (!row) throw userNotFound(id);
  const current = row as unknown as UserRow;
  const updated = { ...change(rowToUser(current)), revision };
  const columns = userToRow(updated);
  const update = s.update(changedGroups(current, columns));
  try {
    yield { sql: update.sql, params: [...update.columns.map((c) => columns[c]), id] };
  } catch (error) {
    if (s.style.isUniqueViolation(error)) throw emailAlreadyExists('email');
    throw error;
  }
  const [event] = yield* appendEvents(s, 'EVENT_TYPE_UPDATED', [updated], [columns]);
  return event!;
}

/** USER_NOT_FOUND if absent; `check` sees the user before it goes (and may refuse by throwing). */
export function* deleteUser(s: WriteStatements, id: string, check?: (current: User) => void): WriteScript<UserEvent> {
  const revision = yield* reserveRevisions(s, 1, -1);
  if (check) {
    const [current] = yield { sql: s.selectForChange, params: [id] };
    if (!current) throw userNotFound(id);
    check(rowToUser(current as unknown as UserRow));
  }
  const [row] = yield { sql: s.deleteReturning, params: [id] };
  if (!row) throw userNotFound(id);
  const [event] = yield* appendEvents(s, 'EVENT_TYPE_DELETED', [{ ...rowToUser(row as unknown as UserRow), revision }]);
  return event!;
}

/** A script's next step: the statement's rows, or its failure, which the script may catch. */
const next = <T>(script: WriteScript<T>, outcome: { rows: Row[] } | { error: unknown }) =>
  'error' in outcome ? script.throw(outcome.error) : script.next(outcome.rows);

/** Runs `script` on a synchronous driver: every statement in this turn of the event loop. */
export function runScript<T>(script: WriteScript<T>, execute: (statement: Statement) => Row[]): T {
  let step = script.next();
  while (!step.done) {
    let outcome: { rows: Row[] } | { error: unknown };
    try {
      outcome = { rows: execute(step.value) };
    } catch (error) {
      outcome = { error };
    }
    step = next(script, outcome);
  }
  return step.value;
}

/** Runs `script` on an asynchronous driver, one statement after the other. */
export async function runScriptAsync<T>(
  script: WriteScript<T>,
  execute: (statement: Statement) => Promise<Row[]>,
): Promise<T> {
  let step = script.next();
  while (!step.done) {
    const outcome = await execute(step.value).then(
      (rows) => ({ rows }),
      (error: unknown) => ({ error }),
    );
    step = next(script, outcome);
  }
  return step.value;
}

import type { CompiledQuery } from 'kysely';
import { type Kysely, sql, type Transaction } from 'kysely';
import { cancelled, deadlineExceeded, emailAlreadyExists, unavailable, userNotFound } from '../domain/errors.js';
import type { CallContext, ChangeLog, ListQuery, UserStore } from '../domain/ports.js';
import type { Cursor } from '../domain/pagination.js';
import { type EventType, searchKey, type User, type UserEvent } from '../domain/user.js';
import { eventToRow, rowToEvent, rowToUser, userToRow } from './rows.js';
import type { Database, UsersTable } from './schema.js';

/** Rows per INSERT: keeps every statement under SQLite's bound-parameter limit. */
const INSERT_CHUNK = 500;

export interface Dialect {
  isUniqueViolation(error: unknown): boolean;
  /**
   * The database cannot serve now (connection lost or refused, server restarting, lock wait
   * exhausted): the call ends UNAVAILABLE, and a retry may succeed.
   */
  isUnavailable(error: unknown): boolean;
  /** Whether `select … for update` exists (PostgreSQL); SQLite locks the whole database per write anyway. */
  rowLocks: boolean;
  /**
   * Makes the engine stop any statement of `trx` that runs past `ms`; absent
   * when the engine cannot interrupt one (SQLite runs each in a blink, in-process).
   */
  limitStatements?(trx: Transaction<Database>, ms: number): Promise<void>;
  isStatementTimeout(error: unknown): boolean;
  /** Runs in each committing transaction after its events are appended, e.g. to wake other instances. */
  afterAppend?(trx: Transaction<Database>, headRevision: number): Promise<void>;
}

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The user store on any SQL engine Kysely speaks; dialect quirks stay behind
 * `Dialect`. Each mutation and its change-log events share one transaction.
 */
export class SqlUserStore implements UserStore, ChangeLog {
  readonly changeLog: ChangeLog = this;
  /** The hottest read, compiled once: building and compiling the query cost more than running it. */
  private readonly userById: CompiledQuery<UsersTable>;

  constructor(
    readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {
    this.userById = db.selectFrom('users').selectAll().where('id', '=', '').compile();
  }

  /**
   * One transaction within the caller's limits: never begun once the deadline has passed or the
   * caller has gone, stopped by the engine at the deadline, and rolled back rather than committed
   * when the deadline passed while it ran (the caller has been told DEADLINE_EXCEEDED by then).
   */
  private async transaction<T>(
    limits: CallContext | undefined,
    work: (trx: Transaction<Database>) => Promise<T>,
  ): Promise<T> {
    const left = timeLeft(limits);
    return this.translated(() =>
      this.db.transaction().execute(async (trx) => {
        if (left !== undefined) await this.dialect.limitStatements?.(trx, left);
        const result = await work(trx);
        timeLeft(limits);
        return result;
      }),
    );
  }

  /** A read within the caller's deadline; without one (or on an engine that cannot stop a statement) no transaction is needed. */
  private async read<T>(limits: CallContext | undefined, work: (db: Executor) => Promise<T>): Promise<T> {
    if (timeLeft(limits) === undefined || !this.dialect.limitStatements) return this.translated(() => work(this.db));
    return this.transaction(limits, work);
  }

  /** The driver's errors in the domain's terms: the domain never sees SQL. */
  private async translated<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (this.dialect.isStatementTimeout(error)) throw deadlineExceeded();
      if (this.dialect.isUnavailable(error)) throw unavailable('the database cannot be reached', error);
      throw error;
    }
  }

  /**
   * A write: its first statement takes the next revisions from the change log's head row. That
   * row's lock orders all writers, so revisions become visible in commit order with no gap, and
   * what a write reads after it cannot change under it (no lost update); holding it first, no
   * writer ever waits for another while holding a lock that one needs (no deadlock).
   */
  private write<T>(
    limits: CallContext | undefined,
    count: number,
    work: (trx: Transaction<Database>, firstRevision: number) => Promise<T>,
  ): Promise<T> {
    return this.transaction(limits, async (trx) => work(trx, await reserveRevisions(trx, count)));
  }

  async getUser(id: string, limits?: CallContext): Promise<User | undefined> {
    const { rows } = await this.read(limits, (db) =>
      db.executeQuery<UsersTable>({ ...this.userById, parameters: [id] }),
    );
    const row = rows[0];
    return row && rowToUser(row);
  }

  async insertUsers(
    users: readonly User[],
    fieldPath: (index: number) => string,
    limits?: CallContext,
  ): Promise<UserEvent[]> {
    return this.write(limits, users.length, async (trx, first) => {
      await rejectTakenEmails(trx, users, fieldPath);
      const stored = users.map((user, i) => ({ ...user, revision: first + i }));
      try {
        for (const chunk of chunks(stored.map(userToRow))) await trx.insertInto('users').values(chunk).execute();
      } catch (error) {
        // Another instance committed the email between the check and the insert.
        if (this.dialect.isUniqueViolation(error)) throw emailAlreadyExists(fieldPath(0));
        throw error;
      }
      return this.appendEvents(trx, 'EVENT_TYPE_CREATED', stored);
    });
  }

  async updateUser(id: string, change: (current: User) => User, limits?: CallContext): Promise<UserEvent> {
    return this.write(limits, 1, async (trx, revision) => {
      let select = trx.selectFrom('users').selectAll().where('id', '=', id);
      if (this.dialect.rowLocks) select = select.forUpdate();
      const row = await select.executeTakeFirst();
      if (!row) throw userNotFound(id);
      const updated = { ...change(rowToUser(row)), revision };
      const { id: _, created_at: __, ...columns } = userToRow(updated);
      try {
        await trx.updateTable('users').set(columns).where('id', '=', id).execute();
      } catch (error) {
        if (this.dialect.isUniqueViolation(error)) throw emailAlreadyExists('email');
        throw error;
      }
      const [event] = await this.appendEvents(trx, 'EVENT_TYPE_UPDATED', [updated]);
      return event!;
    });
  }

  async deleteUser(id: string, limits?: CallContext): Promise<UserEvent> {
    return this.write(limits, 1, async (trx, revision) => {
      const row = await trx.deleteFrom('users').where('id', '=', id).returningAll().executeTakeFirst();
      if (!row) throw userNotFound(id);
      const [event] = await this.appendEvents(trx, 'EVENT_TYPE_DELETED', [{ ...rowToUser(row), revision }]);
      return event!;
    });
  }

  async listUsers(query: ListQuery & { after?: Cursor }, limits?: CallContext): Promise<User[]> {
    return this.read(limits, (db) => this.listAfter(db, query));
  }

  private async listAfter(db: Executor, query: ListQuery & { after?: Cursor }): Promise<User[]> {
    let select = this.matching(db, query.nameContains).selectAll();
    const { after } = query;
    if (after) {
      select = select.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(after.createdAt, after.id)));
    }
    const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map(rowToUser);
  }

  async listUsersByOffset(
    query: ListQuery & { offset: number },
    limits?: CallContext,
  ): Promise<{ users: User[]; totalCount: number }> {
    return this.read(limits, (db) => this.offsetPage(db, query));
  }

  private async offsetPage(
    db: Executor,
    query: ListQuery & { offset: number },
  ): Promise<{ users: User[]; totalCount: number }> {
    const [rows, count] = await Promise.all([
      this.matching(db, query.nameContains)
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(query.limit)
        .offset(query.offset)
        .execute(),
      this.matching(db, query.nameContains)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    return { users: rows.map(rowToUser), totalCount: Number(count.n) };
  }

  async headRevision(): Promise<number> {
    const row = await this.translated(() =>
      this.db.selectFrom('change_log_state').select('head_revision').executeTakeFirstOrThrow(),
    );
    return Number(row.head_revision);
  }

  async readAfter(afterRevision: number, limit: number): Promise<UserEvent[]> {
    const rows = await this.translated(() =>
      this.db
        .selectFrom('user_events')
        .selectAll()
        .where('revision', '>', afterRevision)
        .orderBy('revision')
        .limit(limit)
        .execute(),
    );
    return rows.map(rowToEvent);
  }

  async prune(retain: number): Promise<number> {
    const head = await this.headRevision();
    const result = await this.translated(() =>
      this.db
        .deleteFrom('user_events')
        .where('revision', '<=', head - retain)
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async ping(): Promise<void> {
    await this.headRevision();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /** Logs one event per user (each carries its revision, taken by `write`). */
  private async appendEvents(
    trx: Transaction<Database>,
    type: EventType,
    users: readonly User[],
  ): Promise<UserEvent[]> {
    const timestamp = new Date();
    const events = users.map((user): UserEvent => ({ type, user, timestamp, revision: user.revision }));
    for (const chunk of chunks(events.map(eventToRow))) await trx.insertInto('user_events').values(chunk).execute();
    await this.dialect.afterAppend?.(trx, events.at(-1)!.revision);
    return events;
  }

  private matching(db: Executor, nameContains: string) {
    const select = db.selectFrom('users');
    if (nameContains === '') return select;
    const pattern = `%${escapeLike(nameContains)}%`;
    return select.where(sql<boolean>`name_key like ${pattern} escape '\\'`);
  }
}

async function rejectTakenEmails(
  trx: Transaction<Database>,
  users: readonly User[],
  fieldPath: (index: number) => string,
): Promise<void> {
  const keys = users.map((u) => searchKey(u.email));
  for (const chunk of chunks(keys)) {
    const taken = await trx.selectFrom('users').select('email_key').where('email_key', 'in', chunk).executeTakeFirst();
    if (taken) {
      const index = keys.indexOf(taken.email_key);
      throw emailAlreadyExists(fieldPath(index), users.length > 1 ? index : undefined);
    }
  }
}

/** Bumps the head of the change log by `count` and returns the first of the revisions taken. */
async function reserveRevisions(trx: Transaction<Database>, count: number): Promise<number> {
  const { head_revision } = await trx
    .updateTable('change_log_state')
    .set((eb) => ({ head_revision: eb('head_revision', '+', count) }))
    .where('id', '=', 1)
    .returning('head_revision')
    .executeTakeFirstOrThrow();
  return Number(head_revision) - count + 1;
}

/**
 * Milliseconds left before the caller's deadline; undefined without one. Throws once it has
 * passed, or once the caller has gone: such work is never begun.
 */
function timeLeft(limits: CallContext | undefined): number | undefined {
  if (limits?.signal?.aborted) throw cancelled();
  if (limits?.deadline === undefined) return undefined;
  const left = Math.ceil(limits.deadline - Date.now());
  if (left <= 0) throw deadlineExceeded();
  return left;
}

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += INSERT_CHUNK) yield items.slice(i, i + INSERT_CHUNK);
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

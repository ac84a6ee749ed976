import type { CompiledQuery } from 'kysely';
import { type Kysely, sql, type Transaction } from 'kysely';
import { cancelled, deadlineExceeded, emailAlreadyExists } from '../domain/errors.js';
import type { CallLimits, ChangeLog, ListQuery, UserStore } from '../domain/ports.js';
import type { Cursor } from '../domain/pagination.js';
import { type EventType, searchKey, type User, type UserEvent } from '../domain/user.js';
import { eventToRow, rowToEvent, rowToUser, userToRow } from './rows.js';
import type { Database, UsersTable } from './schema.js';

/** Rows per INSERT: keeps every statement under SQLite's bound-parameter limit. */
const INSERT_CHUNK = 500;

export interface Dialect {
  isUniqueViolation(error: unknown): boolean;
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

  /** One transaction within the caller's deadline: the engine stops any statement still running at it. */
  private async write<T>(limits: CallLimits | undefined, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    const left = timeLeft(limits);
    try {
      return await this.db.transaction().execute(async (trx) => {
        if (left !== undefined) await this.dialect.limitStatements?.(trx, left);
        return await work(trx);
      });
    } catch (error) {
      if (this.dialect.isStatementTimeout(error)) throw deadlineExceeded();
      throw error;
    }
  }

  /** A read within the caller's deadline; without one (or on an engine that cannot stop a statement) no transaction is needed. */
  private read<T>(limits: CallLimits | undefined, work: (db: Executor) => Promise<T>): Promise<T> {
    if (timeLeft(limits) === undefined || !this.dialect.limitStatements) return work(this.db);
    return this.write(limits, work);
  }

  async getUser(id: string, limits?: CallLimits): Promise<User | undefined> {
    const { rows } = await this.read(limits, (db) =>
      db.executeQuery<UsersTable>({ ...this.userById, parameters: [id] }),
    );
    const row = rows[0];
    return row && rowToUser(row);
  }

  async insertUsers(
    users: readonly User[],
    fieldPath: (index: number) => string,
    limits?: CallLimits,
  ): Promise<UserEvent[]> {
    return this.write(limits, async (trx) => {
      await rejectTakenEmails(trx, users, fieldPath);
      try {
        for (const chunk of chunks(users.map(userToRow))) await trx.insertInto('users').values(chunk).execute();
      } catch (error) {
        // Lost a race with another writer between the check and the insert.
        if (this.dialect.isUniqueViolation(error)) throw emailAlreadyExists(fieldPath(0));
        throw error;
      }
      return this.appendEvents(trx, 'EVENT_TYPE_CREATED', users);
    });
  }

  async updateUser(id: string, change: (current: User) => User, limits?: CallLimits): Promise<UserEvent | undefined> {
    return this.write(limits, async (trx) => {
      const row = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const updated = change(rowToUser(row));
      const { id: _, created_at: __, ...columns } = userToRow(updated);
      try {
        await trx.updateTable('users').set(columns).where('id', '=', id).execute();
      } catch (error) {
        if (this.dialect.isUniqueViolation(error)) throw emailAlreadyExists('email');
        throw error;
      }
      const [event] = await this.appendEvents(trx, 'EVENT_TYPE_UPDATED', [updated]);
      return event;
    });
  }

  async deleteUser(id: string, limits?: CallLimits): Promise<UserEvent | undefined> {
    return this.write(limits, async (trx) => {
      const row = await trx.deleteFrom('users').where('id', '=', id).returningAll().executeTakeFirst();
      if (!row) return undefined;
      const [event] = await this.appendEvents(trx, 'EVENT_TYPE_DELETED', [rowToUser(row)]);
      return event;
    });
  }

  async listUsers(query: ListQuery & { after?: Cursor }, limits?: CallLimits): Promise<User[]> {
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
    limits?: CallLimits,
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
    const row = await this.db.selectFrom('change_log_state').select('head_revision').executeTakeFirstOrThrow();
    return Number(row.head_revision);
  }

  async readAfter(afterRevision: number, limit: number): Promise<UserEvent[]> {
    const rows = await this.db
      .selectFrom('user_events')
      .selectAll()
      .where('revision', '>', afterRevision)
      .orderBy('revision')
      .limit(limit)
      .execute();
    return rows.map(rowToEvent);
  }

  async prune(retain: number): Promise<number> {
    const head = await this.headRevision();
    const result = await this.db
      .deleteFrom('user_events')
      .where('revision', '<=', head - retain)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async ping(): Promise<void> {
    await this.headRevision();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private async appendEvents(
    trx: Transaction<Database>,
    type: EventType,
    users: readonly User[],
  ): Promise<UserEvent[]> {
    const { events, head } = await appendEvents(trx, type, users);
    await this.dialect.afterAppend?.(trx, head);
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

/**
 * Takes the next revisions by bumping the head row: the row lock orders
 * concurrent writers, so revisions become visible in commit order with no gap.
 */
async function appendEvents(
  trx: Transaction<Database>,
  type: EventType,
  users: readonly User[],
): Promise<{ events: UserEvent[]; head: number }> {
  const { head_revision } = await trx
    .updateTable('change_log_state')
    .set((eb) => ({ head_revision: eb('head_revision', '+', users.length) }))
    .where('id', '=', 1)
    .returning('head_revision')
    .executeTakeFirstOrThrow();
  const first = Number(head_revision) - users.length + 1;
  const timestamp = new Date();
  const events = users.map((user, i): UserEvent => ({ type, user, timestamp, revision: first + i }));
  for (const chunk of chunks(events.map(eventToRow))) await trx.insertInto('user_events').values(chunk).execute();
  return { events, head: Number(head_revision) };
}

/**
 * Milliseconds left before the caller's deadline; undefined without one. Throws once it has
 * passed, or once the caller has gone: such work is never begun.
 */
function timeLeft(limits: CallLimits | undefined): number | undefined {
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

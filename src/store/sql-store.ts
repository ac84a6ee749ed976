import type { CompiledQuery, RawBuilder, SelectQueryBuilder } from 'kysely';
import { type Kysely, sql, type Transaction } from 'kysely';
import { cancelled, deadlineExceeded, unavailable } from '../domain/errors.js';
import type {
  CallContext,
  ChangeLog,
  CountedPage,
  IdempotentRequest,
  Listing,
  ListQuery,
  OffsetQuery,
  UserStore,
} from '../domain/ports.js';
import type { Cursor } from '../domain/pagination.js';
import type { User, UserEvent } from '../domain/user.js';
import { rowToEvent, rowToUser } from './rows.js';
import { USER_COLUMNS, type UserRow } from './rows.js';
import type { Database } from './schema.js';
import type { DirectReads } from './direct-reads.js';
import {
  deleteUser,
  insertUsers,
  insertUsersOnce,
  Replayed,
  type SqlStyle,
  updateUser,
  WriteStatements,
  type WriteScript,
} from './write-scripts.js';

/** Rows beyond which a page counts as a long read (see `SqlUserStore.readers`). */
const LONG_READ_ROWS = 200;
/**
 * Ids per statement of getUsers; more are read in chunks. The ids are one parameter on the direct
 * path, but a statement (and the Kysely fallback's list of parameters) stays bounded.
 */
export const USERS_PER_READ = 500;
/** Reads of a listing while writers keep moving the head, before it settles for the head before the last (see atRevision). */
const AT_REVISION_TRIES = 8;

/**
 * How a filtered page is found where a name index exists. A filter that many names match fills its
 * page within a few rows of the listing order, while the index would hand over every match to be
 * sorted by it (a row lookup each); a rare one is found in the index at once, where walking the
 * listing order would read the whole table. So: walk a short stretch; if the page is not full,
 * count the matches in the index (cheap: no row is read) up to the number whose sorting costs what
 * walking to the page would at their density, √(users × page × walkToSortCost); no more than that,
 * take them from the index; more, and walk as far as their density says the page reaches. Either
 * way a page costs about √(table size × page size) rows, whatever the filter (see docs/storage.md).
 */
export const FILTERED_PAGE = {
  /** Rows of the listing order walked first. */
  walkRows: 1000,
  /** What reading one row in listing order costs, as a share of taking one match from the index (measured: ~0.3 µs against ~3 µs). */
  walkToSortCost: 0.1,
  /** How much further than the matches' density predicts the second walk may go. */
  walkMargin: 4,
  /** The most matches taken by id (each id a bound parameter: within both engines' limits). */
  sortableMax: 10_000,
};

/**
 * An index that finds the names containing a key without reading every name: `lookup` says how
 * for `key`, or undefined where it cannot (the engine's planner then serves `like '%…%'` itself,
 * as PostgreSQL does with pg_trgm, or every name is read).
 */
export interface NameIndex {
  lookup(key: string): NameLookup | undefined;
}

export interface NameLookup {
  /** Users whose `name_key` contains the key, as a predicate on `users`. */
  matching: RawBuilder<boolean>;
  /** How many users' names contain the key, counting no further than `upTo` (reading the index only, where it can). */
  count(db: Executor, upTo: number): Promise<number>;
}

export interface Dialect {
  /**
   * The database cannot serve now (connection lost or refused, server restarting, lock wait
   * exhausted): the call ends UNAVAILABLE, and a retry may succeed.
   */
  isUnavailable(error: unknown): boolean;
  /** How the engine spells the write scripts' statements. */
  style: SqlStyle;
  /**
   * Runs a write in one transaction on the engine's own driver: stopped by the engine at the
   * caller's deadline (`timeLeftMs` from now) where it can, and rolled back rather than committed
   * when `stillInTime` throws after the script (the deadline passed, or the caller left).
   */
  write<T>(script: WriteScript<T>, timeLeftMs: number | undefined, stillInTime: () => void): Promise<T>;
  /**
   * Makes the engine stop any statement of `trx` that runs past `ms`; absent
   * when the engine cannot interrupt one (SQLite runs each in a blink, in-process).
   */
  limitStatements?(trx: Transaction<Database>, ms: number): Promise<void>;
  isStatementTimeout(error: unknown): boolean;
  nameIndex?: NameIndex;
  /** The hot reads on the engine's own driver (direct-reads.ts); without them they go through Kysely. */
  direct?: DirectReads;
}

export type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The user store on any SQL engine Kysely speaks; dialect quirks stay behind
 * `Dialect`. Each mutation and its change-log events share one transaction.
 */
export class SqlUserStore implements UserStore, ChangeLog {
  readonly changeLog: ChangeLog = this;
  /** The hottest read, compiled once: building and compiling the query cost more than running it. */
  private readonly userById: CompiledQuery<UserRow>;
  private readonly statements: WriteStatements;
  private closed = false;

  /**
   * @param readers Where long reads run (filters, counts, offset and large pages), when not on `db`:
   *   on SQLite, reader threads, so that they never stall the process (see sqlite-readers.ts).
   */
  constructor(
    readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly readers?: { db: Kysely<Database>; close(): Promise<void> },
  ) {
    this.userById = db.selectFrom('users').select(USER_COLUMNS).where('id', '=', '').compile();
    this.statements = new WriteStatements(dialect.style);
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

  /** A read that may take long: on the readers where there are some. */
  private async longRead<T>(limits: CallContext | undefined, work: (db: Executor) => Promise<T>): Promise<T> {
    const readers = this.readers?.db;
    if (!readers) return this.read(limits, work);
    timeLeft(limits);
    return this.translated(() => work(readers));
  }

  /** The driver's errors in the domain's terms: the domain never sees SQL. */
  private async translated<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.translate(error);
    }
  }

  private translate(error: unknown): unknown {
    if (this.dialect.isStatementTimeout(error)) return deadlineExceeded();
    if (this.dialect.isUnavailable(error)) return unavailable('the database cannot be reached', error);
    return error;
  }

  /**
   * A hot read on the engine's driver, within the caller's limits, when it can go direct now;
   * undefined when it cannot. A synchronous driver's answer is taken as it is: no promise in between.
   */
  private direct<T>(
    limits: CallContext | undefined,
    read: (direct: DirectReads, timeLeftMs: number | undefined) => T | Promise<T>,
  ): { result: T | Promise<T> } | undefined {
    const { direct } = this.dialect;
    // Once closed, every read goes where the others do (Kysely), and fails as they do.
    if (this.closed || !direct?.ready()) return undefined;
    const left = timeLeft(limits);
    try {
      const result = read(direct, left);
      return {
        result:
          result instanceof Promise
            ? result.catch((error: unknown) => {
                throw this.translate(error);
              })
            : result,
      };
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** A write script, in one transaction within the caller's limits (never begun once they are past). */
  private write<T>(limits: CallContext | undefined, script: WriteScript<T>): Promise<T> {
    const left = timeLeft(limits);
    return this.translated(() =>
      this.dialect.write(script, left, () => {
        timeLeft(limits);
      }),
    );
  }

  async getUser(id: string, limits?: CallContext): Promise<User | undefined> {
    const direct = this.direct(limits, (reads, left) => reads.userById(id, left));
    let row: UserRow | undefined;
    if (direct) row = direct.result instanceof Promise ? await direct.result : direct.result;
    else {
      const query = { ...this.userById, parameters: [id] };
      row = (await this.read(limits, (db) => db.executeQuery<UserRow>(query))).rows[0];
    }
    return row && rowToUser(row);
  }

  async getUsers(ids: readonly string[], limits?: CallContext): Promise<User[]> {
    // Distinct first: each user once, and no chunk spent on a repeat.
    const distinct = [...new Set(ids)];
    const users: User[] = [];
    for (let start = 0; start < distinct.length; start += USERS_PER_READ) {
      const rows = await this.usersByIds(distinct.slice(start, start + USERS_PER_READ), limits);
      for (const row of rows) users.push(rowToUser(row));
    }
    return users;
  }

  /** One statement: on the driver when it can go direct, else through Kysely (an `in` list, as `filteredPage` reads ids). */
  private async usersByIds(ids: readonly string[], limits: CallContext | undefined): Promise<UserRow[]> {
    const direct = this.direct(limits, (reads, left) => reads.usersByIds(ids, left));
    if (direct) return direct.result instanceof Promise ? await direct.result : direct.result;
    return this.read(limits, (db) => db.selectFrom('users').select(USER_COLUMNS).where('id', 'in', ids).execute());
  }

  async insertUsers(
    users: readonly User[],
    fieldPath: (index: number) => string,
    limits?: CallContext,
  ): Promise<UserEvent[]> {
    return this.write(limits, insertUsers(this.statements, users, fieldPath));
  }

  async updateUser(id: string, change: (current: User) => User, limits?: CallContext): Promise<UserEvent> {
    return this.write(limits, updateUser(this.statements, id, change));
  }

  async insertUsersOnce(
    users: readonly User[],
    fieldPath: (index: number) => string,
    request: IdempotentRequest,
    limits?: CallContext,
  ): Promise<{ events: UserEvent[] } | { replayed: User[] }> {
    try {
      return {
        events: await this.write(limits, insertUsersOnce(this.statements, users, fieldPath, request, Date.now())),
      };
    } catch (error) {
      if (error instanceof Replayed) return { replayed: error.users };
      throw error;
    }
  }

  async deleteUser(id: string, limits?: CallContext, check?: (current: User) => void): Promise<UserEvent> {
    return this.write(limits, deleteUser(this.statements, id, check));
  }

  async pruneIdempotencyKeys(before: number): Promise<number> {
    const result = await this.translated(() =>
      this.db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async listUsers(query: ListQuery & { after?: Cursor }, limits?: CallContext): Promise<Listing> {
    const long = query.nameContains !== '' || query.limit > LONG_READ_ROWS;
    if (!long) {
      const at = this.direct(limits, (reads, left) => reads.listedAt?.(query.after, query.limit, left));
      const page = at && (await at.result);
      if (page) return { users: page.rows.map(rowToUser), revision: page.revision };
    }
    const { result: users, revision } = await this.atRevision(limits, async () => {
      const direct = long
        ? undefined
        : this.direct(limits, (reads, left) => reads.listed(query.after, query.limit, left));
      if (direct) return (direct.result instanceof Promise ? await direct.result : direct.result).map(rowToUser);
      const work = (db: Executor) => this.listAfter(db, query);
      return long ? this.longRead(limits, work) : this.read(limits, work);
    });
    return { users, revision };
  }

  /**
   * What `read` returned, with the change-log revision it reflects. Every commit moves the log's
   * head, in commit order, in the transaction that makes the change: when the head is the same
   * before and after the read, no commit fell between, and each statement of the read saw exactly
   * the changes up to that revision — with no transaction around the read (a snapshot would cost
   * PostgreSQL two more round trips and SQLite its one connection's turn). A commit in between
   * means the read may be newer than the first head: it is read again. Through AT_REVISION_TRIES
   * of writers moving the head, the listing says the head before its last read: watching after it
   * may repeat a change the page shows already (its revision tells, at most the user's in the
   * page), and never misses one.
   */
  private async atRevision<T>(
    limits: CallContext | undefined,
    read: () => Promise<T>,
  ): Promise<{ result: T; revision: number }> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.head(limits);
      const result = await read();
      if (attempt === AT_REVISION_TRIES || (await this.head(limits)) === before) return { result, revision: before };
    }
  }

  /** The change log's head now, directly on the driver where it can. */
  private async head(limits: CallContext | undefined): Promise<number> {
    const direct = this.direct(limits, (reads, left) => reads.head(left));
    if (!direct) return this.headRevision();
    return direct.result instanceof Promise ? await direct.result : direct.result;
  }

  private async listAfter(db: Executor, query: ListQuery & { after?: Cursor }): Promise<User[]> {
    return (await this.page(db, { ...query, offset: 0 })).map(rowToUser);
  }

  /** `limit` users matching the filter, `offset` past the cursor (or the top), in listing order. */
  private async page(db: Executor, query: ListQuery & { after?: Cursor; offset: number }): Promise<UserRow[]> {
    const { nameContains: key, limit, offset, after } = query;
    const lookup = this.lookupOf(key);
    if (lookup) return this.filteredPage(db, lookup, query);
    const select = db.selectFrom('users').select(USER_COLUMNS);
    return listed(this.after(key === '' ? select : select.where(containing(key)), after))
      .limit(limit)
      .offset(offset)
      .execute();
  }

  /** A filtered page where a name index exists; see FILTERED_PAGE. */
  private async filteredPage(
    db: Executor,
    lookup: NameLookup,
    { nameContains: key, limit, offset, after }: ListQuery & { after?: Cursor; offset: number },
  ): Promise<UserRow[]> {
    // The page among the first `rows` of the listing: the page itself, when it is full there.
    const walk = (rows: number) => {
      // The walk filters on name_key: the stretch carries it.
      const stretch = listed(this.after(db.selectFrom('users').select([...USER_COLUMNS, 'name_key']), after)).limit(
        rows,
      );
      return listed(db.selectFrom(stretch.as('users')).selectAll().where(containing(key)))
        .limit(limit)
        .offset(offset)
        .execute();
    };
    const walked = await walk(FILTERED_PAGE.walkRows);
    if (walked.length === limit) return walked;
    const users = await this.userCount(db);
    const wanted = offset + limit;
    const sortable = Math.min(
      FILTERED_PAGE.sortableMax,
      Math.ceil(Math.sqrt(users * wanted * FILTERED_PAGE.walkToSortCost)),
    );
    const matches = await lookup.count(db, sortable + 1);
    if (matches === 0) return [];
    const fromIndex = listed(this.after(db.selectFrom('users').select(USER_COLUMNS), after));
    if (matches <= sortable) {
      // Few: their ids first, then the page among them. Asked in one statement with its order and
      // limit, a planner that misjudges how many match (PostgreSQL has no statistics for words in
      // a string) may walk the whole listing looking for them instead.
      const ids = await this.after(db.selectFrom('users').select('id'), after).where(lookup.matching).execute();
      if (ids.length === 0) return [];
      return fromIndex
        .where(
          'id',
          'in',
          ids.map((row) => row.id),
        )
        .limit(limit)
        .offset(offset)
        .execute();
    }
    // `matches` stopped counting at `sortable`, so this overestimates how far the page is: the
    // walk is a bound, and it ends as soon as the page is full.
    const further = await walk(Math.ceil((FILTERED_PAGE.walkMargin * wanted * users) / matches));
    if (further.length === limit) return further;
    return fromIndex.where(lookup.matching).limit(limit).offset(offset).execute();
  }

  async listUsersByOffset(query: OffsetQuery, limits?: CallContext): Promise<CountedPage> {
    const work = (db: Executor) => this.offsetPage(db, query);
    const long = query.nameContains !== '' || query.offset + query.limit > LONG_READ_ROWS;
    const { result: page, revision } = await this.atRevision(limits, () =>
      long ? this.longRead(limits, work) : this.read(limits, work),
    );
    return { ...page, revision };
  }

  private async offsetPage(db: Executor, query: OffsetQuery): Promise<Omit<CountedPage, 'revision'>> {
    const [rows, total] = await Promise.all([this.page(db, query), this.count(db, query)]);
    return { users: rows.map(rowToUser), ...total };
  }

  /** Every user, from the count each write keeps; matches of a filter, counted up to `countUpTo`. */
  private async count(db: Executor, query: OffsetQuery): Promise<Omit<CountedPage, 'users' | 'revision'>> {
    const key = query.nameContains;
    if (key === '') return { totalCount: await this.userCount(db), totalCountIsLowerBound: false };
    const upTo = query.countUpTo + 1;
    const counted = (await this.lookupOf(key)?.count(db, upTo)) ?? (await countUpTo(db, containing(key), upTo));
    return counted > query.countUpTo
      ? { totalCount: query.countUpTo, totalCountIsLowerBound: true }
      : { totalCount: counted, totalCountIsLowerBound: false };
  }

  async headRevision(): Promise<number> {
    const row = await this.translated(() =>
      this.db.selectFrom('change_log_state').select('head_revision').executeTakeFirstOrThrow(),
    );
    return Number(row.head_revision);
  }

  async readAfter(afterRevision: number, limit: number): Promise<UserEvent[]> {
    const direct = this.direct(undefined, (reads) => reads.eventsAfter(afterRevision, limit));
    if (direct) return (direct.result instanceof Promise ? await direct.result : direct.result).map(rowToEvent);
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
    this.closed = true;
    await Promise.all([this.db.destroy(), this.readers?.close()]);
  }

  /** How the name index finds `key`, if there is one and it can. */
  private lookupOf(key: string): NameLookup | undefined {
    return key === '' ? undefined : this.dialect.nameIndex?.lookup(key);
  }

  private async userCount(db: Executor): Promise<number> {
    const { user_count } = await db.selectFrom('change_log_state').select('user_count').executeTakeFirstOrThrow();
    return Number(user_count);
  }

  /** Only users after the cursor in listing order, when there is one. */
  private after<O>(
    select: SelectQueryBuilder<Database, 'users', O>,
    after: Cursor | undefined,
  ): SelectQueryBuilder<Database, 'users', O> {
    if (!after) return select;
    return select.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(after.createdAt, after.id)));
  }
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

/** How many users `predicate` holds for, counting no further than `upTo`. */
export async function countUpTo(db: Executor, predicate: RawBuilder<boolean>, upTo: number): Promise<number> {
  const matches = db
    .selectFrom('users')
    .select(sql<number>`1`.as('one'))
    .where(predicate)
    .limit(upTo);
  const { n } = await db
    .selectFrom(matches.as('matches'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** Names containing `key`, tested row by row. */
function containing(key: string): RawBuilder<boolean> {
  return sql<boolean>`name_key like ${`%${escapeLike(key)}%`} escape '\\'`;
}

/** The listing order: newest first, the id breaking ties. */
function listed<S extends SelectQueryBuilder<Database, 'users', UserRow>>(select: S): S {
  return select.orderBy('created_at', 'desc').orderBy('id', 'desc') as S;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

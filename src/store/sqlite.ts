import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  type SqliteDatabase,
  SqliteDriver,
  sql,
} from 'kysely';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import type { PoolStats } from './postgres.js';
import { characters } from '../domain/text.js';
import { type DirectReads, directSql } from './direct-reads.js';
import { eventRowFromValues, userRowFromValues } from './rows.js';
import { gramOf } from '../domain/text.js';
import { type Dialect, type NameIndex, SqlUserStore } from './sql-store.js';
import { runScript, type Statement } from './write-scripts.js';
import { readerKysely, SQLITE_READER_DEFAULTS, SqliteReaderPool } from './sqlite-readers.js';
import { cachingStatements } from './sqlite-statements.js';

export interface SqliteOptions {
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  /** How long each write transaction waited for the write lock (seconds), for metrics. */
  onWriteLockWait?: (seconds: number) => void;
  /** How long each long read waited for a reader thread (seconds), for metrics. */
  onConnectionWait?: (seconds: number) => void;
  /** Reader threads for long reads (SQLITE_READER_DEFAULTS.readers); 0, or an in-memory database, reads on the main thread. */
  readers?: number;
  /**
   * better-sqlite3's addon (`better_sqlite3.node`) to load instead of the one in node_modules: one
   * built for this Node when node_modules holds one for another (the lab's runtimes scenario).
   */
  nativeBinding?: string;
}

export function openSqliteDatabase(path: string, options: SqliteOptions = {}): SQLite.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  sqlite.pragma('journal_mode = WAL');
  // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  sqlite.pragma('foreign_keys = ON');
  return sqlite;
}

/**
 * Transactions take the write lock up front (BEGIN IMMEDIATE). A deferred one
 * that reads first and writes later gets SQLITE_BUSY at once, without waiting,
 * when another connection wrote in between.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  constructor(
    database: SqliteDatabase,
    private readonly onWriteLockWait?: (seconds: number) => void,
  ) {
    super({ database });
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // The wait for another process's write lock happens inside this statement (busy_timeout).
    const start = performance.now();
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    this.onWriteLockWait?.((performance.now() - start) / 1000);
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqlite: SqliteDatabase,
    private readonly onWriteLockWait?: (seconds: number) => void,
  ) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.sqlite, this.onWriteLockWait);
  }
}

export function sqliteKysely(sqlite: SQLite.Database, onWriteLockWait?: (seconds: number) => void): Kysely<Database> {
  return new Kysely<Database>({ dialect: new ImmediateSqliteDialect(cachingStatements(sqlite), onWriteLockWait) });
}

export interface SqliteStore {
  store: SqlUserStore;
  /** The reader threads, when there are some. */
  pool?: PoolStats;
}

/** Opens (creating if needed) the database file and applies pending migrations. */
export async function openSqliteStore(path: string, options: SqliteOptions = {}): Promise<SqliteStore> {
  const sqlite = openSqliteDatabase(path, options);
  const db = sqliteKysely(sqlite, options.onWriteLockWait);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const code = (error: unknown) => String((error as { code?: unknown })?.code);
  const readers = options.readers ?? SQLITE_READER_DEFAULTS.readers;
  // Migrated first: the readers' read-only connections open the file as the migrations left it.
  const pool =
    path !== ':memory:' && readers > 0
      ? new SqliteReaderPool(path, readers, options.onConnectionWait, options.nativeBinding)
      : undefined;
  const store = new SqlUserStore(
    db,
    {
      style: {
        placeholder: () => '?',
        rowLocks: false,
        isUniqueViolation: (error) => code(error) === 'SQLITE_CONSTRAINT_UNIQUE',
      },
      write: sqliteWrites(sqlite, options.onWriteLockWait),
      // Another process held the write lock for the whole busy timeout: a retry may find it free.
      isUnavailable: (error) => /^SQLITE_(BUSY|LOCKED)/.test(code(error)),
      // better-sqlite3 cannot interrupt a statement; the deadline is checked before each call starts.
      isStatementTimeout: () => false,
      nameIndex: NAME_INDEXES,
      direct: sqliteDirectReads(sqlite),
    },
    pool && { db: readerKysely(pool), close: () => pool.close() },
  );
  return { store, ...(pool ? { pool } : {}) };
}

/**
 * Writes as better-sqlite3 runs them: from BEGIN IMMEDIATE (the write lock first, so a transaction
 * that reads then writes never fails half-way for another connection's write) to COMMIT in one turn
 * of the event loop, so no other call of this process ever runs inside it. The wait for another
 * process's lock happens in BEGIN (busy_timeout): it is what `onWriteLockWait` times.
 */
function sqliteWrites(sqlite: SQLite.Database, onWriteLockWait?: (seconds: number) => void): Dialect['write'] {
  const statements = cachingStatements(sqlite);
  const [begin, commit, rollback] = ['begin immediate', 'commit', 'rollback'].map((text) => sqlite.prepare(text));
  const execute = ({ sql: text, params }: Statement) => {
    const statement = statements.prepare(text) as SQLite.Statement<unknown[], Record<string, unknown>>;
    if (statement.reader) return statement.all(...params);
    statement.run(...params);
    return [];
  };
  return async (script, _timeLeftMs, stillInTime) => {
    // Every write runs whole within one call, and nothing else here opens a transaction.
    if (sqlite.inTransaction) throw new Error('the SQLite connection is inside another transaction');
    const start = performance.now();
    begin!.run();
    onWriteLockWait?.((performance.now() - start) / 1000);
    try {
      const result = runScript(script, execute);
      stillInTime();
      commit!.run();
      return result;
    } finally {
      if (sqlite.inTransaction) rollback!.run();
    }
  };
}

/**
 * The hot reads as better-sqlite3 runs them: prepared once, called synchronously on the main
 * connection (no promise at all), whenever that connection is not inside a write transaction.
 * SQLite cannot stop a statement, so the deadline was checked before the call (sql-store.ts).
 */
function sqliteDirectReads(sqlite: SQLite.Database): DirectReads {
  // The ids as one JSON array: better-sqlite3 binds no arrays.
  const text = directSql(() => '?', 'id in (select value from json_each(?))');
  // Rows as arrays (raw), made objects here: better-sqlite3 builds an object row through V8's generic
  // property API, a map transition per column (measured: ~20,000 instructions a row, more than the
  // lookup), where an object literal of known shape costs a few.
  const raw = <P extends unknown[]>(sql: string) => sqlite.prepare<P, unknown[]>(sql).raw(true);
  const byId = raw<[string]>(text.userById);
  const byIds = raw<[string]>(text.usersByIds);
  const first = raw<[number]>(text.first);
  const after = raw<[number, string, number]>(text.after);
  const eventsAfter = raw<[number, number]>(text.eventsAfter);
  const head = raw<[]>(text.head);
  return {
    ready: () => !sqlite.inTransaction,
    userById: (id) => {
      const row = byId.get(id);
      return row && userRowFromValues(row);
    },
    usersByIds: (ids) => byIds.all(JSON.stringify(ids)).map(userRowFromValues),
    listed: (cursor, limit) =>
      (cursor ? after.all(cursor.createdAt, cursor.id, limit) : first.all(limit)).map(userRowFromValues),
    eventsAfter: (revision, limit) => eventsAfter.all(revision, limit).map(eventRowFromValues),
    head: () => Number(head.get()![0]),
  };
}

/**
 * The name indexes of migrations 0005 and 0007, both FTS5. A key of three characters or more,
 * quoted as one phrase, matches in the trigram index the names holding its trigrams in a row: the
 * names holding the key. A shorter key is one word of the gram index (domain/text.ts `nameGrams`).
 */
const NAME_INDEXES: NameIndex = {
  lookup(key) {
    const [table, term] = characters(key) >= 3 ? ['users_search', phrase(key)] : ['users_grams', phrase(gramOf(key))];
    const matches = sql`select rowid from ${sql.table(table)} where ${sql.table(table)} match ${term}`;
    return {
      matching: sql<boolean>`seq in (${matches})`,
      async count(db, upTo) {
        const { rows } = await sql<{ n: number }>`select count(*) as n from (${matches} limit ${upTo})`.execute(db);
        return Number(rows[0]!.n);
      },
    };
  },
};

const phrase = (text: string) => `"${text.replaceAll('"', '""')}"`;

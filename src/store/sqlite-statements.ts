import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Prepared statements kept per SQL text; the few distinct shapes of `in (…)` lists fit well within it. */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every statement anew on each call, which costs more than
 * running a primary-key lookup; this keeps the most recently used ones
 * (better-sqlite3 runs them synchronously, so sharing one is safe). The main
 * connection and each reader thread's connection keep their own.
 */
export function cachingStatements(sqlite: SQLite.Database, capacity = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement) statements.delete(sql);
      else statement = sqlite.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > capacity) statements.delete(statements.keys().next().value!);
      return statement;
    },
  };
}

// A reader thread of the SQLite reader pool (sqlite-readers.ts): its own read-only connection to
// the database file, running one statement at a time for the main thread. WAL lets it read while
// the main thread writes; each statement sees every transaction committed before it began.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { cachingStatements } from './sqlite-statements.js';

export interface ReaderSetup {
  path: string;
  /** The thread's nice value: above the main thread's, so long reads yield the CPU to short calls. */
  niceness: number;
  statementCacheSize: number;
  /** better-sqlite3's addon to load instead of its own (SqliteOptions.nativeBinding). */
  nativeBinding?: string;
}

export interface ReadRequest {
  id: number;
  sql: string;
  parameters: readonly unknown[];
}

export type ReadReply = { id: number; rows: unknown[] } | { id: number; error: { message: string; code?: string } };

const setup = workerData as ReaderSetup;
lowerOwnPriority(setup.niceness);
const sqlite = new SQLite(setup.path, {
  readonly: true,
  fileMustExist: true,
  ...(setup.nativeBinding ? { nativeBinding: setup.nativeBinding } : {}),
});
sqlite.pragma('busy_timeout = 5000');
const statements = cachingStatements(sqlite, setup.statementCacheSize);

parentPort!.on('message', ({ id, sql, parameters }: ReadRequest) => {
  let reply: ReadReply;
  try {
    reply = { id, rows: statements.prepare(sql).all(parameters) };
  } catch (error) {
    const { message, code } = error as { message: string; code?: unknown };
    reply = { id, error: { message, ...(typeof code === 'string' ? { code } : {}) } };
  }
  parentPort!.postMessage(reply);
});

/**
 * Linux schedules threads one by one: setpriority on this thread's id (from /proc/thread-self)
 * lowers this thread only. Elsewhere, or where it is refused, the thread keeps the process's.
 */
function lowerOwnPriority(niceness: number): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    if (Number.isInteger(threadId)) setPriority(threadId, niceness);
  } catch {
    // Not Linux, or not permitted: the same priority as the main thread.
  }
}

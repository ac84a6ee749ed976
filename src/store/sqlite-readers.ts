import { Worker } from 'node:worker_threads';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { overloaded, unavailable } from '../domain/errors.js';
import type { PoolStats } from './postgres.js';
import type { Database } from './schema.js';
import type { ReaderSetup, ReadReply, ReadRequest } from './sqlite-reader-thread.js';

export const SQLITE_READER_DEFAULTS = {
  /** Reader threads; 0 reads on the main thread. */
  readers: 2,
  /** Nice value of the reader threads (the main thread has 0): long reads yield to short calls. */
  niceness: 10,
  /** Reads waiting for a free reader, per reader; past it a read is refused OVERLOADED. */
  queuePerReader: 64,
  statementCacheSize: 64,
};

/**
 * Reads that may take milliseconds (filters, counts, offset and large pages) run here: better-sqlite3
 * is synchronous, so on the main thread each would stop every other call for its whole length. A
 * few worker threads, each with its own read-only connection to the same file (WAL lets them read
 * while the main thread writes), run them one at a time each, at a lower CPU priority. A read
 * issued after a write returned sees it: each statement reads the newest committed state.
 */
export class SqliteReaderPool implements PoolStats {
  readonly max: number;
  private readonly idleReaders: Reader[] = [];
  private readonly waiting: ((reader: Reader) => void)[] = [];
  private readonly readers: Reader[];

  constructor(
    path: string,
    size: number,
    private readonly onWait?: (seconds: number) => void,
    nativeBinding?: string,
  ) {
    this.max = size;
    const setup: ReaderSetup = {
      path,
      niceness: SQLITE_READER_DEFAULTS.niceness,
      statementCacheSize: SQLITE_READER_DEFAULTS.statementCacheSize,
      ...(nativeBinding ? { nativeBinding } : {}),
    };
    this.readers = Array.from({ length: size }, () => new Reader(setup));
    this.idleReaders.push(...this.readers);
  }

  used = () => this.max - this.idleReaders.length;
  idle = () => this.idleReaders.length;
  pending = () => this.waiting.length;

  /** A free reader, waiting for one if all are busy; OVERLOADED when too many already wait. */
  async acquire(): Promise<Reader> {
    const idle = this.idleReaders.pop();
    if (idle) {
      this.onWait?.(0);
      return idle;
    }
    if (this.waiting.length >= this.max * SQLITE_READER_DEFAULTS.queuePerReader) throw overloaded(1);
    const start = performance.now();
    const reader = await new Promise<Reader>((resolve) => this.waiting.push(resolve));
    this.onWait?.((performance.now() - start) / 1000);
    return reader;
  }

  release(reader: Reader): void {
    const next = this.waiting.shift();
    if (next) next(reader);
    else this.idleReaders.push(reader);
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((reader) => reader.close()));
  }
}

/** One reader thread, one statement at a time (the pool hands it to one caller at a time). */
class Reader implements DatabaseConnection {
  /** Started on first use, and again after it died: a thread that cannot start fails reads, it never spins. */
  private worker: Worker | undefined;
  private nextId = 0;
  private inFlight: { id: number; settle: (reply: ReadReply | Error) => void } | undefined;
  private closed = false;

  constructor(private readonly setup: ReaderSetup) {
    // Ready before the first read needs it.
    this.started();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    if (this.closed) throw unavailable('the store is closed');
    const worker = startThread(this.setup);
    worker.on('message', (reply: ReadReply) => {
      if (reply.id !== this.inFlight?.id) return;
      const { settle } = this.inFlight;
      this.inFlight = undefined;
      settle(reply);
    });
    // A thread that died (it could not open the file, ran out of memory) fails its read; the next read starts another.
    const died = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const running = this.inFlight;
      this.inFlight = undefined;
      running?.settle(error);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`the SQLite reader thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const request: ReadRequest = { id: ++this.nextId, sql: query.sql, parameters: query.parameters };
    const worker = this.started();
    const reply = await new Promise<ReadReply | Error>((settle) => {
      this.inFlight = { id: request.id, settle };
      worker.postMessage(request);
    });
    if (reply instanceof Error) throw unavailable('a SQLite reader thread failed', reply);
    if ('error' in reply) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
    return { rows: reply.rows as R[] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite reader pool does not stream');
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}

/**
 * The thread runs the module beside this one: built, the .js file; under tsx (development and
 * tests), the .ts file, through tsx registered in the thread itself, since a thread does not
 * inherit the loader hooks of the thread that starts it.
 */
function startThread(setup: ReaderSetup): Worker {
  const built = !import.meta.url.endsWith('.ts');
  const entry = new URL(`./sqlite-reader-thread.${built ? 'js' : 'ts'}`, import.meta.url);
  const worker = built
    ? new Worker(entry, { workerData: setup })
    : new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
          .then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData: setup },
      );
  // A server keeps the process alive by its sockets; an idle reader must not.
  worker.unref();
  return worker;
}

const noTransactions = (): Promise<void> =>
  Promise.reject(new Error('the SQLite reader pool runs single statements, not transactions'));

class ReaderPoolDriver implements Driver {
  constructor(private readonly pool: SqliteReaderPool) {}
  async init(): Promise<void> {}
  acquireConnection(): Promise<DatabaseConnection> {
    return this.pool.acquire();
  }
  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.pool.release(connection as Reader);
  }
  // Each read is one statement; a transaction would pin a reader across awaits.
  beginTransaction = noTransactions;
  commitTransaction = noTransactions;
  rollbackTransaction = noTransactions;
  async destroy(): Promise<void> {
    // Kysely destroys only a driver it has used; the pool's owner closes it (SqliteReaderPool.close).
  }
}

/** Kysely over the reader pool: the same queries as the main connection, run on reader threads. */
export function readerKysely(pool: SqliteReaderPool): Kysely<Database> {
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new ReaderPoolDriver(pool),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}

import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import type { Database, UserEventsTable } from './schema.js';
import { characters } from '../domain/text.js';
import { type DirectReads, directSql } from './direct-reads.js';
import { gramOf } from '../domain/text.js';
import type { UserRow } from './rows.js';
import { countUpTo, type Dialect, type NameIndex, SqlUserStore } from './sql-store.js';
import { runScriptAsync } from './write-scripts.js';

export const POSTGRES_DEFAULTS = {
  /** Connections per process; a statement waits for a free one beyond that. */
  poolSize: 10,
  /** How long to wait before listening again after the LISTEN connection dropped. */
  relistenDelayMs: 1000,
  /** How long a new connection may take; past it the call ends UNAVAILABLE instead of waiting on. */
  connectTimeoutMs: 5000,
};

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

/** How the connections show in pg_stat_activity (an `application_name` in the URL wins). */
export const APPLICATION_NAME = 'twinapi';
/** The LISTEN connection shows as the pool's name with `-listen` (`twinapi-listen`). */
export function listenerUrl(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(
    'application_name',
    `${parsed.searchParams.get('application_name') ?? APPLICATION_NAME}-listen`,
  );
  return parsed.toString();
}

const INT8 = 20;
// Revisions and millisecond timestamps are int8, well inside Number's exact range; node-pg would return strings.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

const errorCode = (error: unknown) => (error as { code?: unknown })?.code;

/**
 * Failures that mean "the database cannot serve now", not "this call is wrong": connection
 * exceptions (class 08), the server shutting down or starting (57P01-57P03), too many
 * connections (53300), the network's own errors, and node-pg's messages for a lost connection.
 */
const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end/;

export function isUnavailable(error: unknown): boolean {
  const code = errorCode(error);
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return error instanceof Error && UNAVAILABLE_MESSAGES.test(error.message);
}

/** Commits of the change log are announced on this channel, one per schema, with the new head revision. */
const channelFor = (schema: string) => `twinapi_changes.${schema}`;

function postgresDialect(channel: string, connect: () => Promise<pg.PoolClient>): Dialect {
  return {
    direct: postgresDirectReads(connect),
    style: {
      placeholder: (n) => `$${n}`,
      rowLocks: true,
      isUniqueViolation: (error) => errorCode(error) === '23505',
      // NOTIFY is transactional: it is delivered at commit, so a listener never hears of an uncommitted revision.
      afterAppend: (headRevision) => ({ sql: 'select pg_notify($1, $2)', params: [channel, String(headRevision)] }),
    },
    write: postgresWrites(connect),
    isStatementTimeout: (error) => errorCode(error) === '57014',
    isUnavailable,
    async limitStatements(trx, ms) {
      await sql`select set_config('statement_timeout', ${String(ms)}, true)`.execute(trx);
    },
    nameIndex: GRAM_INDEX,
  };
}

/** Named (prepared once per connection) statements at most: the writes' few one-row texts, not a batch's long ones. */
const NAMED_STATEMENTS = 64;
const NAMED_TEXT_MAX = 2000;

/**
 * Writes on node-pg itself: one connection, BEGIN, the script's statements (named: parsed and
 * planned once per connection), COMMIT; the deadline kept as the connection's statement_timeout.
 */
function postgresWrites(connect: () => Promise<pg.PoolClient>): Dialect['write'] {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (name === undefined && text.length <= NAMED_TEXT_MAX && names.size < NAMED_STATEMENTS) {
      names.set(text, (name = `twinapi_write_${names.size + 1}`));
    }
    return name;
  };
  return async (script, timeLeftMs, stillInTime) => {
    const client = await connect();
    let broken: Error | undefined;
    try {
      await fitStatementTimeout(client, timeLeftMs);
      await client.query('begin');
      try {
        const result = await runScriptAsync(script, async ({ sql: text, params }) => {
          const name = nameOf(text);
          return (await client.query<Record<string, unknown>>({ ...(name ? { name } : {}), text, values: [...params] }))
            .rows;
        });
        stillInTime();
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    } catch (error) {
      // A connection that failed is not given to the next caller.
      if (isUnavailable(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  };
}

/**
 * A key of three characters or more is left to the planner, which serves `like '%…%'` from the
 * pg_trgm index (migration 0005); a shorter one, which no trigram holds, is one element of the
 * grams' GIN index (migration 0007).
 */
const GRAM_INDEX: NameIndex = {
  lookup(key) {
    if (characters(key) >= 3) return undefined;
    const matching = sql<boolean>`string_to_array(name_grams, ' ') @> array[${gramOf(key)}]::text[]`;
    return { matching, count: (db, upTo) => countUpTo(db, matching, upTo) };
  },
};

/** Calls `onCommit` with the head revision whenever any instance commits to the change log. */
export type ListenForCommits = (
  onCommit: (revision?: number) => void,
  onError: (error: unknown) => void,
) => { close(): Promise<void> };

/** A connection pool's occupancy, for metrics. */
export interface PoolStats {
  max: number;
  used(): number;
  idle(): number;
  /** Operations waiting for a free connection. */
  pending(): number;
}

export interface PostgresStore {
  store: SqlUserStore;
  listenForCommits: ListenForCommits;
  pool: PoolStats;
}

export interface PostgresOptions {
  poolSize?: number;
  /** How long each operation waited for a pooled connection (seconds), for metrics. */
  onConnectionWait?: (seconds: number) => void;
  /**
   * A pooled connection failed (the server restarted, a backend was terminated). The pool drops it
   * and opens another when needed; the call using it, if any, ends UNAVAILABLE.
   */
  onPoolError?: (error: Error) => void;
}

/** Kysely on a pool of `url`; its search_path picks the schema. */
export function postgresKysely(url: string, options: PostgresOptions = {}): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(url, options) }) });
}

function postgresPool(url: string, options: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? POSTGRES_DEFAULTS.poolSize,
    connectionTimeoutMillis: POSTGRES_DEFAULTS.connectTimeoutMs,
    types,
    application_name: APPLICATION_NAME,
  });
  const onError = options.onPoolError ?? (() => {});
  pool.on('error', onError);
  // A connection that dies while checked out (between a transaction's statements, or as a failed
  // query's socket closes) reports on the client, where the pool listens only while it is idle:
  // unheard, that error would end the process. The pool drops the dead client on release.
  pool.on('connect', (client) => {
    client.on('error', onError);
    // One call, one core of the database: a parallel plan (a scan for a filter no index serves)
    // would take every core PostgreSQL has from the other calls for its whole length.
    client.query('set max_parallel_workers_per_gather = 0').catch(onError);
  });
  return pool;
}

/** The schema the connection's search_path selects: where the tables live. */
export async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  if (!rows[0]?.schema) throw new Error('the search_path names no existing schema');
  return rows[0].schema;
}

/** Opens a pool on `url` and applies pending migrations. */
export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
  const pool = postgresPool(url, options);
  const { onConnectionWait } = options;
  // Every operation takes a connection through here: timing it times the wait.
  const connect = async () => {
    const start = performance.now();
    const client = await pool.connect();
    onConnectionWait?.((performance.now() - start) / 1000);
    return client;
  };
  const timedPool = {
    // Kysely's statements carry no deadline of their own (a transaction limits itself with SET LOCAL):
    // a connection the direct reads left with a statement_timeout is given back none first.
    async connect() {
      const client = await connect();
      try {
        await fitStatementTimeout(client, undefined);
      } catch (error) {
        client.release(error as Error);
        throw error;
      }
      return client;
    },
    end: () => pool.end(),
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: timedPool }) });
  let schema: string;
  try {
    schema = await currentSchema(db);
    await migrateToLatest(db, schema);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const channel = channelFor(schema);
  return {
    store: new SqlUserStore(db, postgresDialect(channel, connect)),
    listenForCommits: (onCommit, onError) => listen(url, channel, onCommit, onError),
    pool: {
      max: pool.options.max,
      used: () => pool.totalCount - pool.idleCount,
      idle: () => pool.idleCount,
      pending: () => pool.waitingCount,
    },
  };
}

/**
 * Each pooled connection's session statement_timeout (ms; 0: none), as this process last set it. A
 * new connection has none, PostgreSQL's default.
 */
const sessionTimeouts = new WeakMap<pg.PoolClient, number>();

/**
 * How much earlier than its deadline a statement may be stopped, as a share of the time it has: so
 * that one setting serves calls whose deadlines are close (every REST request has the same), where
 * an exact one would be a round trip per call. Never later than its deadline.
 */
const DEADLINE_SLACK = 1 / 64;

/**
 * Makes `client`'s statements stop at the caller's deadline, `timeLeftMs` from now (undefined: no
 * deadline), in the database itself (statement_timeout, which cancels a statement stuck on a lock).
 * The setting is the connection's and stays for its next statement, so it costs a round trip only
 * when the one it has does not fit: none for a call without a deadline, or one stopping the
 * statement after the deadline or more than DEADLINE_SLACK before it.
 */
async function fitStatementTimeout(client: pg.PoolClient, timeLeftMs: number | undefined): Promise<void> {
  const current = sessionTimeouts.get(client) ?? 0;
  const fits =
    timeLeftMs === undefined
      ? current === 0
      : current > 0 && current <= timeLeftMs && current >= timeLeftMs * (1 - DEADLINE_SLACK);
  if (fits) return;
  const wanted = timeLeftMs === undefined ? 0 : Math.max(1, Math.floor(timeLeftMs));
  // Forgotten first: if the SET fails, the connection's setting is unknown, and the next use sets it again.
  sessionTimeouts.delete(client);
  await client.query(`set statement_timeout = ${wanted}`);
  sessionTimeouts.set(client, wanted);
}

/**
 * The hot reads on node-pg itself: named statements (parsed and planned once per connection), one
 * round trip each, the deadline enforced through the connection's statement_timeout.
 */
function postgresDirectReads(connect: () => Promise<pg.PoolClient>): DirectReads {
  // The ids as one text[] (node-pg sends an array as one): one plan whatever the batch's size.
  const text = directSql((n) => `$${n}`, 'id = any($1::text[])');
  const rows = async <T extends pg.QueryResultRow = UserRow>(
    name: string,
    sqlText: string,
    values: unknown[],
    timeLeftMs: number | undefined,
  ) => {
    const client = await connect();
    let broken: Error | undefined;
    try {
      await fitStatementTimeout(client, timeLeftMs);
      return (await client.query<T>({ name, text: sqlText, values })).rows;
    } catch (error) {
      // A connection that failed is not given to the next caller.
      if (isUnavailable(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  };
  return {
    ready: () => true,
    userById: async (id, left) => (await rows('twinapi_user_by_id', text.userById, [id], left))[0],
    usersByIds: (ids, left) => rows('twinapi_users_by_ids', text.usersByIds, [ids], left),
    listed: (after, limit, left) =>
      after
        ? rows('twinapi_listed_after', text.after, [after.createdAt, after.id, limit], left)
        : rows('twinapi_listed_first', text.first, [limit], left),
    eventsAfter: (revision, limit) =>
      rows<UserEventsTable>('twinapi_events_after', text.eventsAfter, [revision, limit], undefined),
    listedAt: async (after, limit, left) => {
      const found = await (after
        ? rows<UserRow & { head_revision: string }>(
            'twinapi_listed_after_at',
            text.afterAt,
            [after.createdAt, after.id, limit],
            left,
          )
        : rows<UserRow & { head_revision: string }>('twinapi_listed_first_at', text.firstAt, [limit], left));
      const revision = Number(found[0]!.head_revision);
      const users = found.filter((row) => row.id !== null).map(({ head_revision: _, ...row }) => row);
      return { rows: users, revision };
    },
    head: async (left) =>
      Number((await rows<{ head_revision: string }>('twinapi_head', text.head, [], left))[0]!.head_revision),
  };
}

/**
 * One dedicated connection LISTENs; when it drops it reconnects and reports a
 * commit, so the feed re-reads the change log: a lost notification delays an
 * event (the feed also polls), it never loses one.
 */
function listen(
  url: string,
  channel: string,
  onCommit: (revision?: number) => void,
  onError: (error: unknown) => void,
) {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client({ connectionString: listenerUrl(url) });
    client = next;
    next.on('notification', (message) => onCommit(Number(message.payload) || undefined));
    next.on('error', (error) => {
      onError(error);
      again();
    });
    try {
      await next.connect();
      await next.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      onCommit(); // whatever committed while we were not listening
    } catch (error) {
      onError(error);
      again();
    }
  };
  const again = () => {
    const dead = client;
    client = undefined;
    dead?.removeAllListeners('error');
    dead?.on('error', () => {});
    void dead?.end().catch(() => {});
    if (!closed && !retry) {
      retry = setTimeout(() => {
        retry = undefined;
        void connect();
      }, POSTGRES_DEFAULTS.relistenDelayMs);
      retry.unref();
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}

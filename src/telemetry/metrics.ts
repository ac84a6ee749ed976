// The metrics a scrape returns, named and labelled as the OpenTelemetry semantic conventions
// name them in Prometheus form (dots become underscores, units become suffixes). The pool's are the
// conventions' 1.24 names (db.client.connections.*): promtool refuses the newer db_client_connection_count.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { FastHistogram, type Series } from './histogram.js';

/**
 * Seconds. The conventions' buckets for request durations (5 ms … 10 s), below them finer ones:
 * a GetUser here takes well under a millisecond, which 5 ms would not resolve.
 */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
/** Messages per streaming call: ListUsers pages of up to 1,000, whole tables streamed. */
const MESSAGE_COUNT_BUCKETS = [0, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/** The RPC protocols, as `rpc_system_name` names them. */
export type RpcSystem = 'grpc' | 'connect' | 'grpc_web' | 'graphql' | 'trpc';
/** A protocol server's watch streams, read at each scrape. */
export interface StreamSource {
  protocol: string;
  open(): number;
  delivered(): number;
}

/** The change feed, read at each scrape. */
export interface FeedSource {
  /** The newest revision this process's feed has read. */
  revision(): number;
  /** The newest revision in the change log itself (a query). */
  logHead(): Promise<number>;
  /** Times it looked at the log, by what woke it. */
  wakeups(): Readonly<Record<string, number>>;
}

/** A connection pool, read at each scrape. */
export interface PoolSource {
  name: string;
  used(): number;
  idle(): number;
  pending(): number;
  max: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly streams: StreamSource[] = [];
  private readonly pools: PoolSource[] = [];
  private feed: FeedSource | undefined;

  readonly httpRequestDuration = new FastHistogram(
    'http_server_request_duration_seconds',
    'Duration of HTTP server requests (an event stream: until it closes).',
    ['http_request_method', 'http_route', 'http_response_status_code'],
    DURATION_BUCKETS,
    this.registry,
  );

  readonly rpcCallDuration = new FastHistogram(
    'rpc_server_call_duration_seconds',
    'Duration of RPCs served (a stream: until it ends).',
    ['rpc_system_name', 'rpc_method', 'rpc_response_status_code'],
    DURATION_BUCKETS,
    this.registry,
  );

  readonly rpcResponsesPerRpc = new FastHistogram(
    'rpc_server_responses_per_rpc',
    'Messages sent per server-streaming RPC (ListUsers: users; WatchUsers: events).',
    ['rpc_system_name', 'rpc_method'],
    MESSAGE_COUNT_BUCKETS,
    this.registry,
  );

  readonly dbOperationDuration = new FastHistogram(
    'db_client_operation_duration_seconds',
    'Duration of store operations, each one query or one transaction (waiting for a connection included).',
    ['db_system_name', 'db_operation_name'],
    DURATION_BUCKETS,
    this.registry,
  );

  readonly connectionWait = new FastHistogram(
    'db_client_connection_wait_time_seconds',
    'Time an operation waited for a connection of the pool (PostgreSQL) or a reader thread (SQLite).',
    ['pool_name'],
    DURATION_BUCKETS,
    this.registry,
  );

  readonly sqliteWriteLockWait: Series = new FastHistogram(
    'twinapi_sqlite_write_lock_wait_seconds',
    'Time a SQLite write transaction waited for the write lock (BEGIN IMMEDIATE; another process held it).',
    [],
    DURATION_BUCKETS,
    this.registry,
  ).labels();

  constructor(options: { processMetrics: boolean }) {
    // prom-client calls `collect` with the metric as `this`; the sources are reached through these.
    const { streams, pools } = this;
    const feed = () => this.feed;
    new Gauge({
      name: 'twinapi_watch_streams',
      help: 'Watch streams open now (SSE on the REST port, WatchUsers on gRPC).',
      labelNames: ['protocol'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const source of streams) this.inc({ protocol: source.protocol }, source.open());
      },
    });
    new Counter({
      name: 'twinapi_watch_events_delivered_total',
      help: 'Change events written to watch streams (bookmarks not counted).',
      labelNames: ['protocol'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const source of streams) this.inc({ protocol: source.protocol }, source.delivered());
      },
    });
    // Read before the feed's lag, whose query would otherwise count among the operations waiting.
    new Gauge({
      name: 'db_client_connections_usage',
      help: 'Database connections of the pool, by state (used, idle).',
      labelNames: ['pool_name', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const pool of pools) {
          this.set({ pool_name: pool.name, state: 'used' }, pool.used());
          this.set({ pool_name: pool.name, state: 'idle' }, pool.idle());
        }
      },
    });
    new Gauge({
      name: 'db_client_connections_max',
      help: 'Connections the pool may open.',
      labelNames: ['pool_name'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const pool of pools) this.set({ pool_name: pool.name }, pool.max);
      },
    });
    new Gauge({
      name: 'db_client_connections_pending_requests',
      help: 'Operations waiting for a free connection of the pool.',
      labelNames: ['pool_name'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const pool of pools) this.set({ pool_name: pool.name }, pool.pending());
      },
    });
    new Gauge({
      name: 'twinapi_change_feed_revision',
      help: "The newest change-log revision this process's feed has read.",
      aggregator: 'max',
      registers: [this.registry],
      collect() {
        const source = feed();
        if (source) this.set(source.revision());
      },
    });
    new Gauge({
      name: 'twinapi_change_feed_lag_revisions',
      help: "Revisions committed to the change log that this process's feed has not read yet (the most behind worker).",
      aggregator: 'max',
      registers: [this.registry],
      async collect() {
        const source = feed();
        if (!source) return;
        const seen = source.revision();
        // Read after the feed's own head, so a commit in between can only overstate the lag, never hide it.
        const head = await source.logHead().catch(() => undefined);
        if (head === undefined) this.reset();
        else this.set(Math.max(0, head - seen));
      },
    });
    new Counter({
      name: 'twinapi_change_feed_wakeups_total',
      help: 'Times the change feed looked at the log, by what woke it.',
      labelNames: ['cause'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [cause, count] of Object.entries(feed()?.wakeups() ?? {})) this.inc({ cause }, count);
      },
    });
    // Event-loop delay, heap, GC, handles, CPU, memory: prom-client's standard process metrics.
    if (options.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters, which promtool rejects; their per-type versions (sum them) stay.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ])
        this.registry.removeSingleMetric(name);
    }
  }

  /** Records store operations on `system` (`sqlite`, `postgresql`). */
  dbOperations(system: string): (operation: string, seconds: number) => void {
    return (operation, seconds) => this.dbOperationDuration.labels(system, operation).observe(seconds);
  }

  /** Reads `source` at each scrape until the returned function is called. */
  addStreams(source: StreamSource): () => void {
    this.streams.push(source);
    return () => this.streams.splice(this.streams.indexOf(source), 1);
  }

  addPool(source: PoolSource): void {
    this.pools.push(source);
  }

  setFeed(source: FeedSource): void {
    this.feed = source;
  }

  /** The scrape: every metric in the Prometheus text format. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

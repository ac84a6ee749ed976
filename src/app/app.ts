import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { UserStore } from '../domain/ports.js';
import { UserService } from '../domain/user-service.js';
import { ChangeFeed } from '../events/change-feed.js';
import { startGrpcServer } from '../grpc/server.js';
import { type RestServerOptions, startRestServer } from '../rest/server.js';
import { openStore } from '../store/open.js';
import { isPostgresUrl } from '../store/postgres.js';
import type { Config } from './config.js';
import { openAccess, tlsFiles } from './access.js';
import { openTelemetry, type Telemetry, type TelemetryConfig } from './telemetry.js';
import { sharedWithSiblingWorkers } from './workers.js';
import { startMetricsServer } from '../telemetry/metrics-server.js';
import { timedStore } from '../telemetry/store.js';

/** A protocol server the app runs; each stops accepting, then drains. */
export interface RunningServer {
  name: string;
  address: string;
  shutdown(timeoutMs: number): Promise<void>;
}

export interface App {
  service: UserService;
  store: UserStore;
  feed: ChangeFeed;
  telemetry: Telemetry;
  servers: RunningServer[];
  /** Runs `stop` when the app closes, after its servers. */
  onClose(stop: () => void | Promise<void>): void;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Starts the protocol servers on the app's service; each is shut down by `app.close`. Each joins
 * the app as soon as it listens, so when a later one fails to start (a port in use), closing the
 * app stops the earlier ones: a failed start leaves nothing running. `files` moves the REST server's
 * files (the web console, the bench reports) from their defaults: tests serve a console they built.
 */
export async function startServers(
  app: App,
  config: Config,
  logger: Logger,
  files: Partial<Pick<RestServerOptions, 'consoleDir' | 'benchResultsDir'>> = {},
): Promise<void> {
  const access = openAccess(config, logger);
  app.onClose(() => access.close());
  const { gate } = access;
  const tls = tlsFiles(config);
  const { metrics, calls: telemetry } = app.telemetry;
  const grpc = await startGrpcServer(
    app.service,
    {
      host: config.host,
      port: config.grpcPort,
      keepaliveTimeMs: config.grpcKeepaliveTimeMs,
      keepaliveTimeoutMs: config.grpcKeepaliveTimeoutMs,
      maxConcurrentStreams: config.grpcMaxConcurrentStreams,
      maxReceiveMessageBytes: config.grpcMaxReceiveMessageBytes,
      maxSendMessageBytes: config.grpcMaxSendMessageBytes,
      maxConnectionIdleMs: config.grpcMaxConnectionIdleMs,
      maxConnectionAgeMs: config.grpcMaxConnectionAgeMs,
      maxConnectionAgeGraceMs: config.grpcMaxConnectionAgeGraceMs,
      maxSessionMemoryMiB: config.grpcMaxSessionMemoryMib,
      reflection: config.grpcReflection,
      representationCacheSize: config.representationCacheSize,
      engine: config.grpcEngine,
      gate,
      tls,
      telemetry,
    },
    logger.child({ server: 'grpc' }),
  );
  app.servers.push(grpc);
  const rest = await startRestServer(
    app.service,
    {
      host: config.host,
      port: config.restPort,
      bodyLimitBytes: config.restBodyLimitBytes,
      http2: config.restHttp2,
      requestTimeoutMs: config.restRequestTimeoutMs,
      headersTimeoutMs: config.restHeadersTimeoutMs,
      keepAliveTimeoutMs: config.restKeepAliveTimeoutMs,
      idleTimeoutMs: config.restIdleTimeoutMs,
      sseHeartbeatMs: config.sseHeartbeatMs,
      representationCacheSize: config.representationCacheSize,
      graphql: {
        maxDepth: config.graphqlMaxDepth,
        maxComplexity: config.graphqlMaxComplexity,
        persistedQueries: config.graphqlPersistedQueries,
        knownQueriesFile: config.graphqlKnownQueriesFile,
      },
      gate,
      tls,
      telemetry,
      ...files,
    },
    logger.child({ server: 'rest' }),
  );
  app.servers.push(rest);
  if (!metrics) return;
  metrics.addStreams({ protocol: 'grpc', open: () => grpc.watchStreams, delivered: () => grpc.eventsDelivered });
  for (const [protocol, streams] of Object.entries(rest.streams)) {
    metrics.addStreams({ protocol, open: () => streams.size, delivered: () => streams.delivered });
  }
  // A worker's metrics are scraped through the cluster primary, which serves the sum.
  if (cluster.isWorker) return;
  const scrape = async () => ({ body: await metrics.scrape(), contentType: metrics.contentType });
  app.servers.push(
    await startMetricsServer(
      { host: config.host, port: config.metricsPort, scrape },
      logger.child({ server: 'metrics' }),
    ),
  );
}

/** How often expired idempotency keys are deleted. */
const KEY_PRUNING_MS = 3_600_000;

/** Wires store, change feed and domain; the protocol servers attach to `service`. */
export async function openApp(
  config: Pick<Config, 'db' | 'eventRetention'> &
    Partial<
      Pick<
        Config,
        | 'dbPoolSize'
        | 'sqliteReaders'
        | 'sqliteNativeBinding'
        | 'feedPollMs'
        | 'bookmarkIntervalMs'
        | 'maxWatchStreams'
        | 'maxWatchStreamsPerPrincipal'
        | 'requireIfMatch'
        | 'idempotencyKeyTtlHours'
      >
    > &
    Partial<TelemetryConfig>,
  logger: Logger,
): Promise<App> {
  const telemetry = await openTelemetry(config, logger);
  const { metrics } = telemetry;
  const waits = metrics?.connectionWait.labels(poolName(config.db));
  const opened = await openStore(config.db, {
    poolSize: config.dbPoolSize,
    ...(config.sqliteReaders !== undefined ? { readers: config.sqliteReaders } : {}),
    ...(config.sqliteNativeBinding ? { nativeBinding: config.sqliteNativeBinding } : {}),
    onPoolError: (error) => logger.warn({ err: error }, 'a pooled database connection failed; it will be replaced'),
    ...(metrics ? { onWriteLockWait: (seconds: number) => metrics.sqliteWriteLockWait.observe(seconds) } : {}),
    ...(waits ? { onConnectionWait: (seconds: number) => waits.observe(seconds) } : {}),
  });
  const { listenForCommits } = opened;
  const store = metrics ? timedStore(opened.store, metrics.dbOperations(opened.system)) : opened.store;
  const feed = await ChangeFeed.start(store.changeLog, {
    retention: config.eventRetention,
    ...(config.feedPollMs ? { pollIntervalMs: config.feedPollMs } : {}),
    ...(config.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: config.bookmarkIntervalMs } : {}),
    onError: (error) => logger.error({ err: error }, 'change feed could not read the change log'),
  });
  // Other instances' commits wake the feed at once; without a signal it still polls the log.
  const listener = listenForCommits?.(
    (revision) => feed.notify(revision, 'notify'),
    (error) =>
      logger.warn({ err: error }, 'lost the database notification connection; reconnecting (the feed keeps polling)'),
  );
  // Workers of one machine without such a signal (SQLite) tell each other through the cluster primary.
  const service = new UserService(store, cluster.isWorker && !listener ? sharedWithSiblingWorkers(feed) : feed, {
    ...(config.maxWatchStreams ? { maxWatches: config.maxWatchStreams } : {}),
    ...(config.maxWatchStreamsPerPrincipal ? { maxWatchesPerPrincipal: config.maxWatchStreamsPerPrincipal } : {}),
    ...(config.requireIfMatch ? { requireIfMatch: true } : {}),
    ...(config.idempotencyKeyTtlHours ? { idempotencyKeyTtlMs: config.idempotencyKeyTtlHours * 3_600_000 } : {}),
  });
  // Expired idempotency keys go at startup and then hourly (a retry never sees one: the store skips them).
  const pruneKeys = () =>
    service
      .pruneIdempotencyKeys()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not prune idempotency keys'));
  void pruneKeys();
  const keyPruning = setInterval(() => void pruneKeys(), KEY_PRUNING_MS).unref();
  if (metrics) {
    metrics.setFeed({
      revision: () => feed.headRevision,
      logHead: () => opened.store.changeLog.headRevision(),
      wakeups: () => feed.wakeups,
    });
    if (opened.pool) metrics.addPool({ name: poolName(config.db), ...opened.pool });
  }
  const servers: RunningServer[] = [];
  const closing: (() => void | Promise<void>)[] = [];
  return {
    service,
    store,
    feed,
    telemetry,
    servers,
    onClose: (stop) => closing.push(stop),
    async close(timeoutMs = 10_000) {
      await Promise.all(servers.map((s) => s.shutdown(timeoutMs)));
      clearInterval(keyPruning);
      for (const stop of closing) await stop();
      await listener?.close();
      await feed.close();
      await store.close();
      await telemetry.close();
    },
  };
}

/** A pool's name, as the conventions build it: PostgreSQL: host and database (no credentials); SQLite: the file its readers read. */
function poolName(db: string): string {
  if (!isPostgresUrl(db)) return db;
  const url = new URL(db);
  return `${url.host}${url.pathname}`;
}

import { parseArgs } from 'node:util';
import { SERVICE_DEFAULTS } from '../domain/user-service.js';
import { CHANGE_FEED_DEFAULTS } from '../events/change-feed.js';
import { GRPC_DEFAULTS, GRPC_ENGINES, type GrpcEngineName } from '../grpc/server.js';
import { REST_DEFAULTS } from '../rest/server.js';
import { GRAPHQL_DEFAULTS } from '../graphql/routes.js';
import { POSTGRES_DEFAULTS } from '../store/postgres.js';
import { SQLITE_READER_DEFAULTS } from '../store/sqlite-readers.js';

export interface Config {
  /** SQLite file path (the embedded default) or a postgres:// URL. */
  db: string;
  /** PostgreSQL connections per process. */
  dbPoolSize: number;
  /** SQLite: threads that run long reads (filters, counts, offset pages); 0 = on the main thread. */
  sqliteReaders: number;
  /** SQLite: better-sqlite3's addon to load instead of node_modules' own (built for another Node); '' = its own. */
  sqliteNativeBinding: string;
  /** Processes serving both protocols on the same ports (node cluster). */
  workers: number;
  host: string;
  grpcPort: number;
  restPort: number;
  logLevel: string;
  /** Change-log events kept for watchers to resume from. */
  eventRetention: number;
  /** Updates and deletes must carry the version they apply to (If-Match / etag): 428 / FAILED_PRECONDITION without. */
  requireIfMatch: boolean;
  /** How long a create's idempotency key is kept (and a retry with it answered from the first call). */
  idempotencyKeyTtlHours: number;
  /** How often the change feed reads the log without a wake-up: the bound on a lost wake-up's delay. */
  feedPollMs: number;
  /** A watch that sent nothing for this long sends a bookmark (its revision); 0: never. */
  bookmarkIntervalMs: number;
  /** How long shutdown waits for in-flight calls before cutting them. */
  shutdownTimeoutMs: number;
  grpcKeepaliveTimeMs: number;
  grpcKeepaliveTimeoutMs: number;
  grpcMaxConcurrentStreams: number;
  grpcMaxReceiveMessageBytes: number;
  grpcMaxSendMessageBytes: number;
  grpcMaxConnectionIdleMs: number;
  grpcMaxConnectionAgeMs: number;
  grpcMaxConnectionAgeGraceMs: number;
  grpcMaxSessionMemoryMib: number;
  grpcReflection: boolean;
  grpcEngine: GrpcEngineName;
  restBodyLimitBytes: number;
  restHttp2: boolean;
  restRequestTimeoutMs: number;
  restHeadersTimeoutMs: number;
  restKeepAliveTimeoutMs: number;
  restIdleTimeoutMs: number;
  sseHeartbeatMs: number;
  /** Deepest selection a GraphQL query may have. */
  graphqlMaxDepth: number;
  /** Most fields a GraphQL query may select, a list's fields counted once per user it may return. */
  graphqlMaxComplexity: number;
  /** GraphQL's Automatic Persisted Queries: `automatic` or `off`. */
  graphqlPersistedQueries: 'automatic' | 'off';
  /** A JSON file of known GraphQL queries ({"<sha256>": "<query>"}): only those are served; '' = any query. */
  graphqlKnownQueriesFile: string;
  /** Users' encodings kept per version and form, per protocol server; 0 keeps none. */
  representationCacheSize: number;
  /** Watch streams (SSE and WatchUsers together) one process holds at once. */
  maxWatchStreams: number;
  /** Event-loop lag past which calls are refused (OVERLOADED); 0 = never. */
  maxEventLoopDelayMs: number;
  /** `jwt`: every call but health and docs needs a bearer token (or a client certificate); `none`: anyone is an admin. */
  auth: 'jwt' | 'none';
  /** HS256 secret (at least 32 characters); '' = none. */
  jwtSecret: string;
  jwtPublicKeyFile: string;
  jwtJwksUrl: string;
  jwtIssuer: string;
  jwtAudience: string;
  /** Calls per second per caller; 0 = no limit. */
  rateLimitRps: number;
  rateLimitBurst: number;
  maxWatchStreamsPerPrincipal: number;
  /** Redis for shared rate limits; '' = each process its own. */
  redisUrl: string;
  tlsCert: string;
  tlsKey: string;
  tlsClientCa: string;
  /** Port of GET /metrics (Prometheus); 0 = no metrics at all. */
  metricsPort: number;
  /** One log line per call (level info). */
  accessLog: boolean;
  /** OTLP/HTTP endpoint spans are exported to; '' = no tracing. */
  otlpEndpoint: string;
  /** `service.name` of exported spans. */
  otelServiceName: string;
}

/** Each setting: its flag, its environment variable, its default. */
const SETTINGS = {
  db: { flag: 'db', env: ['TWINAPI_DB', 'DATABASE_URL'], default: './data/twinapi.db', parse: String },
  dbPoolSize: {
    flag: 'db-pool-size',
    env: 'DB_POOL_SIZE',
    default: String(POSTGRES_DEFAULTS.poolSize),
    parse: positive,
  },
  sqliteReaders: {
    flag: 'sqlite-readers',
    env: 'TWINAPI_SQLITE_READERS',
    default: String(SQLITE_READER_DEFAULTS.readers),
    parse: nonNegative,
  },
  sqliteNativeBinding: {
    flag: 'sqlite-native-binding',
    env: 'TWINAPI_SQLITE_NATIVE_BINDING',
    default: '',
    parse: String,
  },
  workers: { flag: 'workers', env: 'TWINAPI_WORKERS', default: '1', parse: positive },
  host: { flag: 'host', env: 'TWINAPI_HOST', default: '0.0.0.0', parse: String },
  grpcPort: { flag: 'grpc-port', env: 'GRPC_PORT', default: '50051', parse: port },
  restPort: { flag: 'rest-port', env: 'REST_PORT', default: '3000', parse: port },
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', default: 'info', parse: String },
  eventRetention: { flag: 'event-retention', env: 'TWINAPI_EVENT_RETENTION', default: '100000', parse: positive },
  requireIfMatch: {
    flag: 'require-if-match',
    env: 'TWINAPI_REQUIRE_IF_MATCH',
    default: String(SERVICE_DEFAULTS.requireIfMatch),
    parse: boolean,
  },
  idempotencyKeyTtlHours: {
    flag: 'idempotency-key-ttl-hours',
    env: 'TWINAPI_IDEMPOTENCY_KEY_TTL_HOURS',
    default: String(SERVICE_DEFAULTS.idempotencyKeyTtlMs / 3_600_000),
    parse: positive,
  },
  feedPollMs: {
    flag: 'feed-poll-ms',
    env: 'TWINAPI_FEED_POLL_MS',
    default: String(CHANGE_FEED_DEFAULTS.pollIntervalMs),
    parse: positive,
  },
  bookmarkIntervalMs: {
    flag: 'bookmark-interval-ms',
    env: 'TWINAPI_BOOKMARK_INTERVAL_MS',
    default: String(CHANGE_FEED_DEFAULTS.bookmarkIntervalMs),
    // Below 100 ms every quiet watch would wake all the time; past a day, a bookmark is no use.
    parse: zeroOrWithin(100, 86_400_000),
  },
  shutdownTimeoutMs: {
    flag: 'shutdown-timeout-ms',
    env: 'TWINAPI_SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    parse: positive,
  },
  grpcKeepaliveTimeMs: {
    flag: 'grpc-keepalive-time-ms',
    env: 'GRPC_KEEPALIVE_TIME_MS',
    default: String(GRPC_DEFAULTS.keepaliveTimeMs),
    parse: positive,
  },
  grpcKeepaliveTimeoutMs: {
    flag: 'grpc-keepalive-timeout-ms',
    env: 'GRPC_KEEPALIVE_TIMEOUT_MS',
    default: String(GRPC_DEFAULTS.keepaliveTimeoutMs),
    parse: positive,
  },
  grpcMaxConcurrentStreams: {
    flag: 'grpc-max-concurrent-streams',
    env: 'GRPC_MAX_CONCURRENT_STREAMS',
    default: String(GRPC_DEFAULTS.maxConcurrentStreams),
    parse: positive,
  },
  grpcMaxReceiveMessageBytes: {
    flag: 'grpc-max-receive-message-bytes',
    env: 'GRPC_MAX_RECEIVE_MESSAGE_BYTES',
    default: String(GRPC_DEFAULTS.maxReceiveMessageBytes),
    parse: positive,
  },
  grpcMaxSendMessageBytes: {
    flag: 'grpc-max-send-message-bytes',
    env: 'GRPC_MAX_SEND_MESSAGE_BYTES',
    default: String(GRPC_DEFAULTS.maxSendMessageBytes),
    parse: positive,
  },
  grpcMaxConnectionIdleMs: {
    flag: 'grpc-max-connection-idle-ms',
    env: 'GRPC_MAX_CONNECTION_IDLE_MS',
    default: String(GRPC_DEFAULTS.maxConnectionIdleMs),
    parse: positive,
  },
  grpcMaxConnectionAgeMs: {
    flag: 'grpc-max-connection-age-ms',
    env: 'GRPC_MAX_CONNECTION_AGE_MS',
    default: String(GRPC_DEFAULTS.maxConnectionAgeMs),
    parse: nonNegative,
  },
  grpcMaxConnectionAgeGraceMs: {
    flag: 'grpc-max-connection-age-grace-ms',
    env: 'GRPC_MAX_CONNECTION_AGE_GRACE_MS',
    default: String(GRPC_DEFAULTS.maxConnectionAgeGraceMs),
    parse: positive,
  },
  grpcMaxSessionMemoryMib: {
    flag: 'grpc-max-session-memory-mib',
    env: 'GRPC_MAX_SESSION_MEMORY_MIB',
    default: String(GRPC_DEFAULTS.maxSessionMemoryMiB),
    parse: positive,
  },
  grpcReflection: {
    flag: 'grpc-reflection',
    env: 'GRPC_REFLECTION',
    default: String(GRPC_DEFAULTS.reflection),
    parse: boolean,
  },
  grpcEngine: { flag: 'grpc-engine', env: 'GRPC_ENGINE', default: GRPC_DEFAULTS.engine, parse: oneOf(...GRPC_ENGINES) },

  restBodyLimitBytes: {
    flag: 'rest-body-limit-bytes',
    env: 'REST_BODY_LIMIT_BYTES',
    default: String(REST_DEFAULTS.bodyLimitBytes),
    parse: positive,
  },
  restHttp2: { flag: 'rest-http2', env: 'REST_HTTP2', default: String(REST_DEFAULTS.http2), parse: boolean },
  restRequestTimeoutMs: {
    flag: 'rest-request-timeout-ms',
    env: 'REST_REQUEST_TIMEOUT_MS',
    default: String(REST_DEFAULTS.requestTimeoutMs),
    parse: positive,
  },
  restHeadersTimeoutMs: {
    flag: 'rest-headers-timeout-ms',
    env: 'REST_HEADERS_TIMEOUT_MS',
    default: String(REST_DEFAULTS.headersTimeoutMs),
    parse: positive,
  },
  restKeepAliveTimeoutMs: {
    flag: 'rest-keep-alive-timeout-ms',
    env: 'REST_KEEP_ALIVE_TIMEOUT_MS',
    default: String(REST_DEFAULTS.keepAliveTimeoutMs),
    parse: positive,
  },
  restIdleTimeoutMs: {
    flag: 'rest-idle-timeout-ms',
    env: 'REST_IDLE_TIMEOUT_MS',
    default: String(REST_DEFAULTS.idleTimeoutMs),
    parse: positive,
  },

  graphqlMaxDepth: {
    flag: 'graphql-max-depth',
    env: 'GRAPHQL_MAX_DEPTH',
    default: String(GRAPHQL_DEFAULTS.maxDepth),
    parse: positive,
  },
  graphqlMaxComplexity: {
    flag: 'graphql-max-complexity',
    env: 'GRAPHQL_MAX_COMPLEXITY',
    default: String(GRAPHQL_DEFAULTS.maxComplexity),
    parse: positive,
  },
  graphqlPersistedQueries: {
    flag: 'graphql-persisted-queries',
    env: 'GRAPHQL_PERSISTED_QUERIES',
    default: GRAPHQL_DEFAULTS.persistedQueries,
    parse: oneOf('automatic', 'off'),
  },
  graphqlKnownQueriesFile: {
    flag: 'graphql-known-queries-file',
    env: 'GRAPHQL_KNOWN_QUERIES_FILE',
    default: GRAPHQL_DEFAULTS.knownQueriesFile,
    parse: String,
  },

  sseHeartbeatMs: {
    flag: 'sse-heartbeat-ms',
    env: 'SSE_HEARTBEAT_MS',
    default: String(REST_DEFAULTS.sseHeartbeatMs),
    parse: positive,
  },
  representationCacheSize: {
    flag: 'representation-cache-size',
    env: 'TWINAPI_REPRESENTATION_CACHE_SIZE',
    default: String(REST_DEFAULTS.representationCacheSize),
    parse: nonNegative,
  },
  maxWatchStreams: {
    flag: 'max-watch-streams',
    env: 'TWINAPI_MAX_WATCH_STREAMS',
    default: String(SERVICE_DEFAULTS.maxWatches),
    parse: positive,
  },
  maxEventLoopDelayMs: {
    flag: 'max-event-loop-delay-ms',
    env: 'TWINAPI_MAX_EVENT_LOOP_DELAY_MS',
    default: '1000',
    parse: nonNegative,
  },
  auth: { flag: 'auth', env: 'TWINAPI_AUTH', default: 'jwt', parse: oneOf('jwt', 'none') },
  jwtSecret: { flag: 'jwt-secret', env: 'TWINAPI_JWT_SECRET', default: '', parse: String },
  jwtPublicKeyFile: { flag: 'jwt-public-key-file', env: 'TWINAPI_JWT_PUBLIC_KEY_FILE', default: '', parse: String },
  jwtJwksUrl: { flag: 'jwt-jwks-url', env: 'TWINAPI_JWT_JWKS_URL', default: '', parse: String },
  jwtIssuer: { flag: 'jwt-issuer', env: 'TWINAPI_JWT_ISSUER', default: '', parse: String },
  jwtAudience: { flag: 'jwt-audience', env: 'TWINAPI_JWT_AUDIENCE', default: '', parse: String },
  rateLimitRps: { flag: 'rate-limit-rps', env: 'TWINAPI_RATE_LIMIT_RPS', default: '100000', parse: nonNegative },
  rateLimitBurst: { flag: 'rate-limit-burst', env: 'TWINAPI_RATE_LIMIT_BURST', default: '100000', parse: positive },
  maxWatchStreamsPerPrincipal: {
    flag: 'max-watch-streams-per-principal',
    env: 'TWINAPI_MAX_WATCH_STREAMS_PER_PRINCIPAL',
    default: String(SERVICE_DEFAULTS.maxWatchesPerPrincipal),
    parse: positive,
  },
  redisUrl: { flag: 'redis-url', env: ['TWINAPI_REDIS_URL', 'REDIS_URL'], default: '', parse: String },
  tlsCert: { flag: 'tls-cert', env: 'TWINAPI_TLS_CERT', default: '', parse: String },
  tlsKey: { flag: 'tls-key', env: 'TWINAPI_TLS_KEY', default: '', parse: String },
  tlsClientCa: { flag: 'tls-client-ca', env: 'TWINAPI_TLS_CLIENT_CA', default: '', parse: String },
  // 9464: the OpenTelemetry Prometheus exporter's port, where scrapers look first.
  metricsPort: { flag: 'metrics-port', env: 'TWINAPI_METRICS_PORT', default: '9464', parse: port },
  accessLog: { flag: 'access-log', env: 'TWINAPI_ACCESS_LOG', default: 'true', parse: boolean },
  // The standard OpenTelemetry variables, so an operator's existing settings apply unchanged.
  otlpEndpoint: { flag: 'otlp-endpoint', env: 'OTEL_EXPORTER_OTLP_ENDPOINT', default: '', parse: url },
  otelServiceName: { flag: 'otel-service-name', env: 'OTEL_SERVICE_NAME', default: 'twinapi', parse: String },
} as const satisfies Record<
  keyof Config,
  { flag: string; env: string | readonly string[]; default: string; parse: (v: string) => unknown }
>;

/** A setting's environment variables, first one set wins. */
const envNames = (env: string | readonly string[]): readonly string[] => (typeof env === 'string' ? [env] : env);

/** Every setting's flag, environment variables and default, as `--help` and docs/configuration.md list them. */
export const SETTING_LIST: readonly { flag: string; env: readonly string[]; default: string }[] = Object.values(
  SETTINGS,
).map((s) => ({ flag: s.flag, env: envNames(s.env), default: s.default }));

/** Every environment variable a setting reads. */
export const CONFIG_ENV_NAMES: readonly string[] = Object.values(SETTINGS).flatMap((s) => envNames(s.env));

export const CONFIG_OPTIONS = Object.fromEntries(
  Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]),
);

/** Flags win over environment variables, which win over defaults. */
export function loadConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const entries = Object.entries(SETTINGS).map(([key, s]) => {
    const fromEnv = envNames(s.env)
      .map((name) => env[name])
      .find((value) => value !== undefined);
    const raw = (flags[s.flag] as string | undefined) ?? fromEnv ?? s.default;
    try {
      return [key, s.parse(raw)];
    } catch (error) {
      throw new Error(`--${s.flag} (${envNames(s.env).join(', ')}): ${(error as Error).message}`, { cause: error });
    }
  });
  return checked(Object.fromEntries(entries) as Config);
}

/** Settings that only make sense together. */
function checked(config: Config): Config {
  if ((config.tlsCert === '') !== (config.tlsKey === '')) throw new Error('--tls-cert and --tls-key go together');
  if (config.tlsClientCa !== '' && config.tlsCert === '')
    throw new Error('--tls-client-ca needs --tls-cert and --tls-key');
  if (config.sseHeartbeatMs >= config.restIdleTimeoutMs) {
    throw new Error(
      '--sse-heartbeat-ms must be below --rest-idle-timeout-ms, or quiet event streams would be cut as idle',
    );
  }
  return config;
}

export interface CommandLine {
  command: string | undefined;
  help: boolean;
  /** Every `--flag value`, by flag name. */
  flags: Record<string, string | undefined>;
  /** The command's on/off switches that were given, e.g. `quick` for `bench --quick`. */
  switches: Set<string>;
}

/** `extraFlags`: string flags of one command, e.g. `count` for `seed`; `extraSwitches`: its boolean ones. */
export function parseCommandLine(
  argv: string[],
  extraFlags: readonly string[] = [],
  extraSwitches: readonly string[] = [],
): CommandLine {
  const options: Record<string, { type: 'string' | 'boolean' }> = { ...CONFIG_OPTIONS, help: { type: 'boolean' } };
  for (const flag of extraFlags) options[flag] = { type: 'string' };
  for (const flag of extraSwitches) options[flag] = { type: 'boolean' };
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const { help, ...rest } = values;
  const flags: Record<string, string | undefined> = {};
  const switches = new Set<string>();
  for (const [name, value] of Object.entries(rest)) {
    if (typeof value === 'boolean') {
      if (value) switches.add(name);
    } else flags[name] = value;
  }
  return { command: positionals[0], help: help === true, flags, switches };
}

export function describeSettings(): string {
  return Object.values(SETTINGS)
    .map((s) => `  --${s.flag.padEnd(31)} ${envNames(s.env).join(', ').padEnd(31)} default ${s.default}`)
    .join('\n');
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${value} is not a port number`);
  return n;
}

function url(value: string): string {
  if (value === '') return value;
  try {
    if (/^https?:$/.test(new URL(value).protocol)) return value;
  } catch {
    // not a URL at all: the same message
  }
  throw new Error(`${value} is not an http:// or https:// URL`);
}

function oneOf<T extends string>(...values: T[]): (value: string) => T {
  return (value) => {
    if (!(values as string[]).includes(value)) throw new Error(`${value} is not one of ${values.join(', ')}`);
    return value as T;
  };
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${value} is not a whole number of at least 0`);
  return n;
}

/** 0 (off), or a whole number from `min` to `max`. */
function zeroOrWithin(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = nonNegative(value);
    if (n !== 0 && (n < min || n > max)) throw new Error(`${value} is neither 0 (off) nor from ${min} to ${max}`);
    return n;
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${value} is not a whole number of at least 1`);
  return n;
}

function boolean(value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`${value} is not true or false`);
}

/** The database setting as logs may show it: a URL's password is hidden. */
export function redactedDb(db: string): string {
  try {
    const url = new URL(db);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return db; // a file path
  }
}

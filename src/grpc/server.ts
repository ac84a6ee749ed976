import { once } from 'node:events';
import {
  type ChannelOptions,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  setLogger,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { DomainError, ErrorCode } from '../domain/errors.js';
import type { AccessGate } from '../domain/ports.js';
import { credentialsOf } from './credentials.js';
import type { UserService } from '../domain/user-service.js';
import { USER_SERVICE_NAME, userServiceDefinition } from './definition.js';
import { userServiceHandlers } from './handlers.js';
import { addReflection, REFLECTION_SERVICE_NAMES } from './reflection.js';
import type { CallTelemetry } from '../telemetry/calls.js';
import { Http2Engine } from './http2/engine.js';
import { REPRESENTATION_CACHE_DEFAULTS, RepresentationCache } from '../contract/representations.js';
import { type ObservedCalls, observeCall, telemetryInterceptor } from './telemetry.js';

/** The implementations that serve gRPC: grpc-js, or the lean one on node:http2 (src/grpc/http2). */
export const GRPC_ENGINES = ['grpc-js', 'http2'] as const;
export type GrpcEngineName = (typeof GRPC_ENGINES)[number];

export interface GrpcServerOptions {
  /** Which implementation serves the calls; both run the same handlers. */
  engine: GrpcEngineName;
  host: string;
  port: number;
  /** Ping an idle client after this long, to find dead connections. */
  keepaliveTimeMs: number;
  /** Drop the connection when a ping is not answered in this long. */
  keepaliveTimeoutMs: number;
  maxConcurrentStreams: number;
  maxReceiveMessageBytes: number;
  maxSendMessageBytes: number;
  /** A connection with no call in progress for this long is closed (GOAWAY); clients reconnect when needed. */
  maxConnectionIdleMs: number;
  /** A connection this old is asked to close (GOAWAY), then cut after the grace; 0 = never. */
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  /** Memory one HTTP/2 connection may hold in buffers (MiB); past it new streams are refused. */
  maxSessionMemoryMiB: number;
  /** Serve server reflection (v1 and v1alpha), so tools need no .proto files. */
  reflection: boolean;
  /** Users' encoded messages kept per version (contract/representations.ts); 0 keeps none. */
  representationCacheSize: number;
  /** Admits each call (who makes it; its rate limit; load shedding): every call goes through it. */
  gate: AccessGate;
  /** Serve gRPC over TLS; with `clientCa`, require and verify client certificates (mutual TLS). */
  tls?: TlsFiles;
  /** Where each call is reported (metrics, access log, span); absent: calls are not observed at all. */
  telemetry?: CallTelemetry;
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

export const GRPC_DEFAULTS: Omit<GrpcServerOptions, 'host' | 'port' | 'gate' | 'telemetry'> = {
  // The lean engine: the same suites pass on both, and it is the faster (docs/lab.md, Measured here).
  engine: 'http2',
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConcurrentStreams: 1000,
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  maxSendMessageBytes: 16 * 1024 * 1024,
  maxConnectionIdleMs: 300_000,
  maxConnectionAgeMs: 0,
  maxConnectionAgeGraceMs: 30_000,
  maxSessionMemoryMiB: 64,
  reflection: true,
  representationCacheSize: REPRESENTATION_CACHE_DEFAULTS.capacity,
};

export interface GrpcServer {
  name: 'grpc';
  address: string;
  port: number;
  /** Streaming calls in progress (ListUsers, CreateUsers, WatchUsers). */
  readonly openStreams: number;
  /** Streams paused because their client reads more slowly than they write (flow control). */
  readonly streamsWaitingForClient: number;
  /** WatchUsers streams open now. */
  readonly watchStreams: number;
  /** Events written to WatchUsers streams since the start. */
  readonly eventsDelivered: number;
  /** NOT_SERVING, end open streams with UNAVAILABLE, drain, then force after `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

function channelOptions(o: GrpcServerOptions): ChannelOptions {
  return {
    'grpc.keepalive_time_ms': o.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs,
    'grpc.max_concurrent_streams': o.maxConcurrentStreams,
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes,
    'grpc.max_send_message_length': o.maxSendMessageBytes,
    // Let clients keep idle connections alive with their own pings.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
    'grpc.max_connection_idle_ms': o.maxConnectionIdleMs,
    ...(o.maxConnectionAgeMs > 0
      ? {
          'grpc.max_connection_age_ms': o.maxConnectionAgeMs,
          'grpc.max_connection_age_grace_ms': o.maxConnectionAgeGraceMs,
        }
      : {}),
    'grpc-node.max_session_memory': o.maxSessionMemoryMiB,
  };
}

function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.clientCa ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.clientCa !== undefined,
  );
}

/**
 * grpc-js writes its own diagnostics to stderr; this sends them to `logger` instead (grpc-js has
 * one logger per process: the last server started sets it).
 */
function useLoggerForGrpcJs(logger: Logger): void {
  const line = (args: unknown[]) => args.map(String).join(' ');
  setLogger({
    error: (...args: unknown[]) => logger.warn({ source: 'grpc-js' }, line(args)),
    info: (...args: unknown[]) => logger.info({ source: 'grpc-js' }, line(args)),
    debug: (...args: unknown[]) => logger.debug({ source: 'grpc-js' }, line(args)),
  });
}

/** What the server needs of an engine: services in, a port, and the two ways to stop. */
interface Engine {
  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void;
  listen(host: string, port: number): Promise<number>;
  /** Stops taking calls, lets those in progress finish, then calls back. */
  tryShutdown(callback: () => void): void;
  forceShutdown(): void;
}

function grpcJsEngine(settings: GrpcServerOptions, observed: ObservedCalls, logger: Logger): Engine {
  useLoggerForGrpcJs(logger);
  const server = new Server({
    ...channelOptions(settings),
    interceptors: settings.telemetry ? [telemetryInterceptor(settings.telemetry, observed)] : [],
  });
  return {
    addService: (service, implementation) => server.addService(service, implementation),
    listen: (host, port) =>
      new Promise((resolve, reject) =>
        server.bindAsync(`${host}:${port}`, serverCredentials(settings.tls), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      ),
    tryShutdown: (callback) => server.tryShutdown(() => callback()),
    forceShutdown: () => server.forceShutdown(),
  };
}

function http2Engine(settings: GrpcServerOptions, observed: ObservedCalls): Engine {
  const { telemetry } = settings;
  return new Http2Engine({
    ...settings,
    ...(telemetry && { observe: (method, metadata) => observeCall(telemetry, observed, method, metadata) }),
  });
}

export async function startGrpcServer(
  service: UserService,
  options: Partial<GrpcServerOptions> & Pick<GrpcServerOptions, 'host' | 'port' | 'gate'>,
  logger: Logger,
): Promise<GrpcServer> {
  const settings: GrpcServerOptions = { ...GRPC_DEFAULTS, ...options };
  const observed: ObservedCalls = new WeakMap();
  const server =
    settings.engine === 'http2' ? http2Engine(settings, observed) : grpcJsEngine(settings, observed, logger);
  let eventsDelivered = 0;
  let shuttingDown = false;
  const open = new Set<AbortController>();
  let waitingForClient = 0;
  /** Watch streams: finite calls drain at shutdown, endless ones would hold it forever, so they end. */
  const endlessCalls = new Set<AbortController>();
  const unavailable = (controller: AbortController) =>
    controller.abort(new DomainError(ErrorCode.UNAVAILABLE, 'the server is shutting down'));

  server.addService(
    userServiceDefinition,
    userServiceHandlers(service, new RepresentationCache(settings.representationCacheSize), {
      begin(call, { endless }) {
        const controller = new AbortController();
        const cancelled = () => controller.abort();
        call.on('cancelled', cancelled);
        open.add(controller);
        if (endless) {
          endlessCalls.add(controller);
          // One that starts after shutdown began ends at once (UNAVAILABLE), rather than never.
          if (shuttingDown) unavailable(controller);
        }
        return {
          signal: controller.signal,
          async drained(stream, signal = controller.signal) {
            waitingForClient++;
            try {
              await once(stream, 'drain', { signal });
            } catch {
              // The call ended while waiting: the caller sees its signal.
            } finally {
              waitingForClient--;
            }
          },
          done() {
            // grpc-js reports every finished call as cancelled too; an abort then would only cost a stack trace.
            call.removeListener('cancelled', cancelled);
            open.delete(controller);
            endlessCalls.delete(controller);
          },
        };
      },
      admit(call) {
        const principal = settings.gate.admit(credentialsOf(call));
        const observation = observed.get(call.metadata);
        if (!observation) return principal;
        if (!(principal instanceof Promise)) return (observation.principal = principal);
        return principal.then((admitted) => (observation.principal = admitted));
      },
      onInternalError: (error, method, call) =>
        logger.error({ err: error, method, ...observed.get(call.metadata)?.log }, 'gRPC call failed'),
      onEventDelivered: () => eventsDelivered++,
    }),
  );

  const health = new HealthImplementation({ '': 'SERVING', [USER_SERVICE_NAME]: 'SERVING' });
  // grpc-health-check only calls addService, which both engines have.
  health.addToServer(server);
  if (settings.reflection) addReflection(server, [USER_SERVICE_NAME, HEALTH_SERVICE_NAME, ...REFLECTION_SERVICE_NAMES]);

  const port = await server.listen(settings.host, settings.port).catch((error: Error) => {
    throw new Error(`gRPC cannot listen on ${settings.host}:${settings.port}: ${error.message}`);
  });

  return {
    name: 'grpc',
    address: `${settings.host}:${port}`,
    port,
    get openStreams() {
      return open.size;
    },
    get streamsWaitingForClient() {
      return waitingForClient;
    },
    get watchStreams() {
      return endlessCalls.size;
    },
    get eventsDelivered() {
      return eventsDelivered;
    },
    async shutdown(timeoutMs) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(USER_SERVICE_NAME, 'NOT_SERVING');
      shuttingDown = true;
      for (const controller of endlessCalls) unavailable(controller);
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          logger.warn({ open: open.size }, 'gRPC drain timed out; cutting remaining calls');
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { DomainError, ErrorCode } from '../domain/errors.js';
import type { UserService } from '../domain/user-service.js';
import { USER_SERVICE_NAME, userServiceDefinition } from './definition.js';
import { userServiceHandlers } from './handlers.js';

export interface GrpcServerOptions {
  host: string;
  port: number;
  /** Ping an idle client after this long, to find dead connections. */
  keepaliveTimeMs: number;
  /** Drop the connection when a ping is not answered in this long. */
  keepaliveTimeoutMs: number;
  maxConcurrentStreams: number;
  maxReceiveMessageBytes: number;
  maxSendMessageBytes: number;
}

export const GRPC_DEFAULTS: Omit<GrpcServerOptions, 'host' | 'port'> = {
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConcurrentStreams: 1000,
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  maxSendMessageBytes: 16 * 1024 * 1024,
};

export interface GrpcServer {
  name: 'grpc';
  address: string;
  port: number;
  /** Streaming calls in progress (ListUsers, CreateUsers, WatchUsers). */
  readonly openStreams: number;
  /** NOT_SERVING, end open streams with UNAVAILABLE, drain, then force after `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

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
  };
}

export async function startGrpcServer(
  service: UserService,
  options: Partial<GrpcServerOptions> & Pick<GrpcServerOptions, 'host' | 'port'>,
  logger: Logger,
): Promise<GrpcServer> {
  const settings: GrpcServerOptions = { ...GRPC_DEFAULTS, ...options };
  const server = new Server(channelOptions(settings));
  const shuttingDown = new AbortController();
  const open = new Set<AbortController>();

  server.addService(
    userServiceDefinition,
    userServiceHandlers(service, {
      begin(call, { endless }) {
        const controller = new AbortController();
        const cancelled = () => controller.abort();
        call.on('cancelled', cancelled);
        // Finite calls drain; endless ones would hold shutdown forever, so they end.
        const unavailable = () =>
          controller.abort(new DomainError(ErrorCode.UNAVAILABLE, 'the server is shutting down'));
        if (endless) shuttingDown.signal.addEventListener('abort', unavailable, { once: true });
        open.add(controller);
        return {
          signal: controller.signal,
          done() {
            // grpc-js reports every finished call as cancelled too; an abort then would only cost a stack trace.
            call.removeListener('cancelled', cancelled);
            open.delete(controller);
            shuttingDown.signal.removeEventListener('abort', unavailable);
          },
        };
      },
      onInternalError: (error, method) => logger.error({ err: error, method }, 'gRPC call failed'),
    }),
  );

  const health = new HealthImplementation({ '': 'SERVING', [USER_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);
  // Reflection is off the hot path: the dynamic descriptors only describe the contract.
  new ReflectionService(loadSync('users/v1/users.proto', { includeDirs: [PROTO_ROOT] })).addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${settings.host}:${settings.port}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );

  return {
    name: 'grpc',
    address: `${settings.host}:${port}`,
    port,
    get openStreams() {
      return open.size;
    },
    async shutdown(timeoutMs) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(USER_SERVICE_NAME, 'NOT_SERVING');
      shuttingDown.abort();
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

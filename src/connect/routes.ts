// users.v1.UserService over the Connect protocol (JSON and binary) and gRPC-Web, on the REST
// server's Fastify instance, by ConnectRPC's own server (@connectrpc/connect-fastify). Every call
// goes through one interceptor: admission, telemetry, and errors in the protocol's terms.
import { fastifyConnectPlugin } from '@connectrpc/connect-fastify';
import { ConnectError, createContextKey, createContextValues, type Interceptor } from '@connectrpc/connect';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import { asDomainError, ErrorCode } from '../domain/errors.js';
import type { UserService } from '../domain/user-service.js';
import { UserService as UserServiceDesc } from '../gen/users/v1/users_pb.js';
import type { CallTelemetry, ObservedCall } from '../telemetry/calls.js';
import type { RpcSystem } from '../telemetry/metrics.js';
import { codeName, toConnectError } from './errors.js';
import { restatedParseError, withClientParseErrors } from './malformed.js';
import { type EndlessCalls, PRINCIPAL, userServiceImpl } from './handlers.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route speaks an RPC protocol: it answers refusals and reports calls in that protocol's terms. */
    rpc?: boolean;
  }
}

export interface ConnectOptions {
  /** Who makes the request: the REST server's access hook admits every request, these too. */
  admission(request: FastifyRequest): Promise<Principal>;
  /** The longest a unary call's work may take. */
  requestTimeoutMs: number;
  /** Largest request message (RESOURCE_EXHAUSTED above it), as REST's body limit. */
  readMaxBytes: number;
  endless: EndlessCalls;
  telemetry?: CallTelemetry;
}

const REQUEST = createContextKey<FastifyRequest | undefined>(undefined, { description: 'fastify request' });

/** Connect's content types are `application/(connect+)json|proto`; gRPC-Web's `application/grpc-web(-text)(+…)`. */
const protocolOf = (contentType: string | null): RpcSystem =>
  contentType?.startsWith('application/grpc-web') ? 'grpc_web' : 'connect';

/** Registers `/users.v1.UserService/<Method>` for Connect and gRPC-Web (gRPC itself has its own port). */
export async function connectRoutes(app: FastifyInstance, service: UserService, options: ConnectOptions) {
  await app.register(async (scope) => {
    // ConnectRPC reads the bodies itself (and would add its own JSON parser next to the API's).
    scope.removeAllContentTypeParsers();
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, rpc: true };
      // The .proto describes these, not the OpenAPI document (which is REST's).
      route.schema = { ...route.schema, hide: true };
    });
    await scope.register(fastifyConnectPlugin, {
      grpc: false,
      readMaxBytes: options.readMaxBytes,
      interceptors: [callInterceptor(options)],
      contextValues: (request) => createContextValues().set(REQUEST, request),
      routes: (router) => {
        router.service(UserServiceDesc, userServiceImpl(service, options));
        router.handlers.splice(0, router.handlers.length, ...router.handlers.map(withClientParseErrors));
      },
    });
  });
}

/**
 * Each call: reported to telemetry from its start, admitted (principal for the handlers), and any
 * error it ends with in the protocol's terms. Unknown errors are logged and leave as INTERNAL.
 */
function callInterceptor(options: ConnectOptions): Interceptor {
  return (next) => async (req) => {
    const request = req.contextValues.get(REQUEST)!;
    const observed = options.telemetry?.begin(
      { protocol: protocolOf(req.header.get('content-type')), method: `${req.service.typeName}/${req.method.name}` },
      { traceparent: req.header.get('traceparent'), requestId: request.id },
    );
    if (observed?.log.traceId) request.log = request.log.child({ traceId: observed.log.traceId });
    const fail = (error: unknown, sent?: number) => {
      const connectError = failure(error, request, req.method.input.typeName);
      observed?.end(codeName(connectError.code), sent);
      return connectError;
    };
    try {
      const principal = await options.admission(request);
      if (observed) observed.principal = principal;
      req.contextValues.set(PRINCIPAL, principal);
      const response = await next(req);
      if (!response.stream) {
        observed?.end('OK');
        return response;
      }
      return { ...response, message: observedStream(response.message, fail, observed) };
    } catch (error) {
      throw fail(error);
    }
  };
}

/** A server stream's messages, counted; its end (or its error, or the client leaving) reported once. */
async function* observedStream<T>(
  messages: AsyncIterable<T>,
  fail: (error: unknown, sent: number) => ConnectError,
  observed: ObservedCall | undefined,
): AsyncGenerator<T> {
  let sent = 0;
  try {
    for await (const message of messages) {
      yield message;
      sent++;
    }
    observed?.end('OK', sent);
  } catch (error) {
    throw fail(error, sent);
  } finally {
    // Left before the end: the client went away.
    observed?.end('CANCELLED', sent);
  }
}

/** Any error as the ConnectError the client gets; the cause of an internal one is logged, never sent. */
function failure(error: unknown, request: FastifyRequest, messageType: string): ConnectError {
  // A streamed request message that does not decode surfaces here, while the handler reads it.
  if (error instanceof ConnectError) return restatedParseError(error, messageType) ?? error;
  const domainError = asDomainError(error);
  if (domainError.code === ErrorCode.INTERNAL) {
    request.log.error({ err: error, route: request.routeOptions.url }, 'call failed');
  }
  return toConnectError(domainError);
}

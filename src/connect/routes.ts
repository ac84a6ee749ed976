// users.v1.UserService over the Connect protocol (JSON and binary) and gRPC-Web, on the REST
// server's Fastify instance, by ConnectRPC's own router and Node adapters (@connectrpc/connect-node).
// The glue is ours, a few lines like @connectrpc/connect-fastify's, so that a response that cannot be
// written (the client left) is a cancelled call in our log, not a console.error. Every call goes
// through one interceptor: admission, telemetry, and errors in the protocol's terms.
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type Interceptor,
} from '@connectrpc/connect';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import { encodeEnvelope, type UniversalServerRequest } from '@connectrpc/connect/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HostedRpcOptions } from '../contract/hosted-rpc.js';
import { holdOpen } from '../contract/hold-open.js';
import { asDomainError, cancelled, ErrorCode } from '../domain/errors.js';
import type { UserService } from '../domain/user-service.js';
import { UserService as UserServiceDesc } from '../gen/users/v1/users_pb.js';
import type { ObservedCall } from '../telemetry/calls.js';
import type { RpcSystem } from '../telemetry/metrics.js';
import { codeName, toConnectError } from './errors.js';
import { restatedParseError, withClientParseErrors } from './malformed.js';
import { HOLD_OPEN, PRINCIPAL, userServiceImpl } from './handlers.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route speaks an RPC protocol: it answers refusals and reports calls in that protocol's terms. */
    rpc?: boolean;
  }
}

/** Connect and gRPC-Web take what every hosted protocol does (a body past readMaxBytes is RESOURCE_EXHAUSTED). */
export type ConnectOptions = HostedRpcOptions;

const REQUEST = createContextKey<FastifyRequest | undefined>(undefined, { description: 'fastify request' });

/** Connect's content types are `application/(connect+)json|proto`; gRPC-Web's `application/grpc-web(-text)(+…)`. */
const protocolOf = (contentType: string | null): RpcSystem =>
  contentType?.startsWith('application/grpc-web') ? 'grpc_web' : 'connect';

/** The request with an empty message for its body (its own length and encoding gone with it). */
function withoutBody(request: UniversalServerRequest): UniversalServerRequest {
  const header = new Headers(request.header);
  for (const name of ['content-length', 'content-encoding', 'connect-content-encoding', 'grpc-encoding']) {
    header.delete(name);
  }
  return { ...request, header, body: emptyMessage(header.get('content-type')) };
}

/** An empty request message, as the content type frames it: `{}` in JSON, no bytes in binary; enveloped on streams. */
async function* emptyMessage(contentType: string | null): AsyncIterable<Uint8Array> {
  const type = contentType ?? '';
  const message = new TextEncoder().encode(type.includes('json') ? '{}' : '');
  yield /^application\/(connect\+|grpc-web)/.test(type) ? encodeEnvelope(0, message) : message;
}

/** Registers `/users.v1.UserService/<Method>` for Connect and gRPC-Web (gRPC itself has its own port). */
export async function connectRoutes(app: FastifyInstance, service: UserService, options: ConnectOptions) {
  const router = createConnectRouter({
    grpc: false,
    readMaxBytes: options.readMaxBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    // As REST's bodies: a field or an enum value this contract does not have is refused, not dropped
    // (dropped, an unknown role name would have meant "the default role").
    jsonOptions: { ignoreUnknownFields: false },
    interceptors: [callInterceptor(options)],
  });
  router.service(UserServiceDesc, userServiceImpl(service, options));
  await app.register(async (scope) => {
    // ConnectRPC reads every body itself, and answers a content type it does not take in its own terms.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    for (const handler of router.handlers.map(withClientParseErrors)) {
      // The .proto describes these, not the OpenAPI document (which is REST's).
      scope.all(handler.requestPath, { config: { rpc: true }, schema: { hide: true } }, async (request, reply) => {
        reply.hijack();
        const universal = universalRequestFromNodeRequest(
          request.raw,
          reply.raw,
          undefined,
          createContextValues().set(REQUEST, request),
        );
        // A caller the gate refuses is refused before its body is read (as REST refuses in onRequest):
        // ConnectRPC gets an empty message in its place, and the interceptor says why in its terms.
        const refused = await options.admission(request).then(
          () => false,
          () => true,
        );
        try {
          const served = refused ? withoutBody(universal) : universal;
          await universalResponseToNodeResponse(await handler(served), reply.raw);
        } catch (error) {
          if (request.raw.socket?.destroyed === false) {
            request.log.error({ err: error, route: handler.requestPath }, 'could not write the response');
          }
          reply.raw.destroy();
        }
      });
    }
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
      req.contextValues.set(HOLD_OPEN, () => holdOpen(request.raw, options.idleTimeoutMs));
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

const CLIENT_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

/** A write to a connection the client closed, however deep in the error's causes. */
function clientLeft(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && CLIENT_GONE.has(e.code)) return true;
    if (e instanceof ConnectError && e.code === Code.Aborted) return true;
  }
  return false;
}

/** Any error as the ConnectError the client gets; the cause of an internal one is logged, never sent. */
function failure(error: unknown, request: FastifyRequest, messageType: string): ConnectError {
  // The client left (a write failed on its closed connection): its own doing, no server fault.
  // (Node detaches the socket from a request it destroyed: no socket says nothing either way.)
  if (request.raw.socket?.destroyed === true || clientLeft(error)) return toConnectError(cancelled());
  // A streamed request message that does not decode surfaces here, while the handler reads it.
  if (error instanceof ConnectError) return restatedParseError(error, messageType) ?? error;
  const domainError = asDomainError(error);
  if (domainError.code === ErrorCode.INTERNAL) {
    request.log.error({ err: error, route: request.routeOptions.url }, 'call failed');
  }
  return toConnectError(domainError);
}

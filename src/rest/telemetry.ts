// Every HTTP request observed from its first hook to the moment its response closes, which also
// covers event streams (their reply is hijacked, so Fastify's own onResponse never runs for them).
import type { IncomingMessage } from 'node:http';
import type { CallTelemetry } from '../telemetry/calls.js';
import type { RouteHookFactory } from './route-hooks.js';
import { acceptedRequestId, requestIdGenerator } from '../telemetry/trace-context.js';

const newRequestId = requestIdGenerator();

/** The caller's `x-request-id` when it is plain enough to log, else a new one. */
export const requestIdOf = (request: IncomingMessage): string =>
  acceptedRequestId(request.headers['x-request-id']) ?? newRequestId();

/**
 * Reports each request but the RPC routes' to `telemetry`. The route is the template that matched (`/users/:id`), ''
 * for none; a response cut before its headers went out (the client left) counts as 499.
 */
export function requestObserver(telemetry: CallTelemetry): RouteHookFactory {
  return ({ url, rpc }) => {
    // Connect and gRPC-Web calls are reported as RPCs, by their adapter.
    if (rpc) return undefined;
    const route = url ?? '';
    return (request, reply, done) => {
      const observed = telemetry.begin(
        { protocol: 'http', method: request.method, route },
        { traceparent: request.headers.traceparent, requestId: request.id },
      );
      if (observed.log.traceId) request.log = request.log.child({ traceId: observed.log.traceId });
      reply.raw.once('close', () => {
        observed.principal = request.principal;
        observed.end(reply.raw.headersSent ? reply.raw.statusCode : 499);
      });
      done();
    };
  };
}

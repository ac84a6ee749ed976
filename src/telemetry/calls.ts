// One neutral shape for a call of any protocol: adapters say when it began and how it ended; this
// turns that into the duration metric, the access-log line and the trace span.
import type { Principal } from '../domain/access.js';
import type { AccessEntry } from './access-log.js';
import type { Metrics, RpcSystem } from './metrics.js';
import { parseTraceParent } from './trace-context.js';
import type { CallSpan, SpanAttributes, Tracer } from './tracing.js';

export type CallStart =
  | { protocol: 'http'; method: string; /** The route template (`/users/:id`), '' when none matched. */ route: string }
  | { protocol: RpcSystem; /** Fully qualified: `users.v1.UserService/GetUser`. */ method: string };

/** What a call carries that telemetry reads: its `traceparent` header or metadata, and its request id. */
export interface CallHeaders {
  traceparent: unknown;
  requestId: string;
}

/** Fields every log line of one call carries, so its lines can be found together. */
export interface CallLogFields {
  requestId: string;
  traceId?: string;
}

export interface ObservedCall {
  readonly log: CallLogFields;
  /** Who made it, once the access gate admitted it. */
  principal: Principal | undefined;
  /**
   * The call ended with an HTTP status code or an RPC status name (`OK`, `NOT_FOUND`); for a
   * streaming RPC, with the messages it sent. Only the first end counts.
   */
  end(status: number | string, messagesSent?: number): void;
}

export interface CallTelemetry {
  begin(call: CallStart, headers: CallHeaders): ObservedCall;
}

export interface CallTelemetryParts {
  metrics?: Metrics;
  /** Writes one line per call (access-log.ts). */
  accessLog?: (entry: AccessEntry) => void;
  tracer?: Tracer;
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);
/** The conventions' rule: any other method is `_OTHER`, so a client cannot invent label values. */
const knownMethod = (method: string) => (HTTP_METHODS.has(method) ? method : '_OTHER');

/** RPC statuses that are the server's failure (the gRPC conventions for server spans). */
const RPC_SERVER_FAILURES = new Set([
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
]);

export function callTelemetry({ metrics, accessLog, tracer }: CallTelemetryParts): CallTelemetry {
  return {
    begin(call, headers) {
      const started = performance.now();
      const parent = parseTraceParent(headers.traceparent);
      const http = call.protocol === 'http';
      const method = http ? knownMethod(call.method) : call.method;
      let span: CallSpan | undefined;
      if (tracer) {
        const attributes: SpanAttributes = http
          ? { 'http.request.method': method, ...(call.route ? { 'http.route': call.route } : {}) }
          : { 'rpc.system.name': call.protocol, 'rpc.method': method };
        span = tracer.startServerSpan(http ? `${method} ${call.route}`.trim() : method, attributes, parent);
      }
      const traceId = span?.traceId ?? parent?.traceId;
      const log: CallLogFields = traceId ? { requestId: headers.requestId, traceId } : { requestId: headers.requestId };
      let ended = false;
      const observed: ObservedCall = {
        log,
        principal: undefined,
        end(status, messagesSent) {
          if (ended) return;
          ended = true;
          const seconds = (performance.now() - started) / 1000;
          if (metrics) {
            if (http) metrics.httpRequestDuration.labels(method, call.route, String(status)).observe(seconds);
            else {
              metrics.rpcCallDuration.labels(call.protocol, method, String(status)).observe(seconds);
              if (messagesSent !== undefined)
                metrics.rpcResponsesPerRpc.labels(call.protocol, method).observe(messagesSent);
            }
          }
          span?.end(
            http ? { 'http.response.status_code': status } : { 'rpc.response.status_code': status },
            http ? Number(status) >= 500 : RPC_SERVER_FAILURES.has(String(status)),
          );
          accessLog?.({
            protocol: call.protocol,
            method,
            route: http ? call.route : undefined,
            status,
            durationMs: Math.round(seconds * 1e6) / 1000,
            principal: observed.principal?.subject,
            requestId: log.requestId,
            traceId: log.traceId,
            msg: http ? `${method} ${call.route || '(no route)'} ${status}` : `${method} ${status}`,
          });
        },
      };
      return observed;
    },
  };
}

// Every gRPC call observed, of every service (users, health, reflection): its metadata, the messages
// it sends and the status it ends with. On grpc-js a server interceptor sees them; the node:http2
// engine reports the same through observeCall and the call's end (http2/call.ts).
import { type Deadline, type Metadata, type ServerInterceptor, ServerInterceptingCall, status } from '@grpc/grpc-js';
import type { CallTelemetry, ObservedCall } from '../telemetry/calls.js';
import { acceptedRequestId, requestIdGenerator } from '../telemetry/trace-context.js';

const newRequestId = requestIdGenerator();

/** The observed call of each call's metadata object, which grpc-js hands on to the handler unchanged. */
export type ObservedCalls = WeakMap<Metadata, ObservedCall>;

const first = (metadata: Metadata, key: string) => metadata.get(key)[0];

/**
 * How close to its deadline a client's reset counts as the deadline. The server's deadline is the
 * `grpc-timeout` from when the headers were read, so it falls a little after the client's: a client
 * whose own deadline timer reset the stream is heard just before the server's deadline.
 */
const DEADLINE_RESET_SLACK_MS = 25;

/** A call that ended without a status of ours: its deadline passed, or the client cancelled it. */
export function endedByClient(deadline: Deadline): string {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) && Date.now() >= ms - DEADLINE_RESET_SLACK_MS
    ? status[status.DEADLINE_EXCEEDED]
    : status[status.CANCELLED];
}

/** Begins observing a call as its metadata arrives (on either engine), under its trace and request id. */
export function observeCall(
  telemetry: CallTelemetry,
  observedCalls: ObservedCalls,
  method: string,
  metadata: Metadata,
): ObservedCall {
  const observed = telemetry.begin(
    { protocol: 'grpc', method },
    {
      traceparent: first(metadata, 'traceparent'),
      requestId: acceptedRequestId(first(metadata, 'x-request-id')) ?? newRequestId(),
    },
  );
  observedCalls.set(metadata, observed);
  return observed;
}

export function telemetryInterceptor(telemetry: CallTelemetry, observedCalls: ObservedCalls): ServerInterceptor {
  return (descriptor, call) => {
    const method = descriptor.path.slice(1);
    const counting = descriptor.responseStream;
    let observed: ObservedCall | undefined;
    let sent = 0;
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            observed = observeCall(telemetry, observedCalls, method, metadata);
            pass(metadata);
          },
          // Also heard after a status was sent; then `end` has already counted the call.
          onCancel() {
            observed?.end(endedByClient(call.getDeadline()), counting ? sent : undefined);
          },
        });
      },
      ...(counting
        ? {
            sendMessage(message, next) {
              sent++;
              next(message);
            },
          }
        : {}),
      sendStatus(outcome, next) {
        observed?.end(status[outcome.code], counting ? sent : undefined);
        next(outcome);
      },
    });
  };
}

// One procedure call, as every procedure sees it: admitted (the access hook's admission, awaited
// here), reported to telemetry from its start, its input read (a body that is not JSON is the
// protocol's MALFORMED_BODY, not an internal error), and its end reported with a gRPC-style status.
import type { FastifyRequest } from 'fastify';
import { TRPCError } from '@trpc/server';
import { RPC_OK } from '../contract/rpc-status.js';
import type { Principal } from '../domain/access.js';
import type { CallContext } from '../domain/ports.js';
import type { CallTelemetry, ObservedCall } from '../telemetry/calls.js';
import { failureOf, ProtocolError } from './errors.js';

/** What tRPC's context holds for each HTTP request (a batch is one request, several calls). */
export interface TrpcContext {
  request: FastifyRequest;
}

/** One admitted call, as the procedures get it. */
export interface Call {
  request: FastifyRequest;
  principal: Principal;
  /** Aborts when the client leaves (or cancels the call). */
  signal: AbortSignal;
  /** Reported from the call's start; a subscription ends it when its stream ends. */
  observed: ObservedCall | undefined;
}

/** Errors a call has already reported, so that the router's onError reports only the others once. */
const reported = new WeakSet<object>();

/** Whether `error` (or what tRPC wrapped it around) was already reported by its call. */
export const wasReported = (error: Error): boolean =>
  reported.has(error) || (error.cause instanceof Error && reported.has(error.cause));

/** The status a failed call is reported with: CANCELLED once the client has gone, whatever the error says. */
export function statusOf(error: unknown, signal: AbortSignal | undefined): string {
  return signal?.aborted === true ? 'CANCELLED' : failureOf(error).status;
}

/** Reports a failed call's end (with the messages a stream sent) and remembers it was reported. */
export function failed(observed: ObservedCall | undefined, error: unknown, signal?: AbortSignal, sent?: number): void {
  observed?.end(statusOf(error, signal), sent);
  if (typeof error === 'object' && error !== null) reported.add(error);
}

export function beginCall(telemetry: CallTelemetry | undefined, request: FastifyRequest, method: string) {
  const observed = telemetry?.begin(
    { protocol: 'trpc', method },
    { traceparent: request.headers.traceparent, requestId: request.id },
  );
  if (observed?.log.traceId) request.log = request.log.child({ traceId: observed.log.traceId });
  return observed;
}

/** A query's or mutation's domain context: who asks, until the client leaves, within the request timeout. */
export const unaryContext = (call: Call, requestTimeoutMs: number): CallContext => ({
  deadline: Date.now() + requestTimeoutMs,
  signal: call.signal,
  principal: call.principal,
});

/**
 * Reads the call's input before its parser does, so that what tRPC could not read is said in the
 * catalogue's words: a body (or `?input=`) that is not JSON is MALFORMED_BODY; a body past the
 * limit is tRPC's PAYLOAD_TOO_LARGE. tRPC keeps what it read for the parser.
 */
export async function readInput(getRawInput: () => Promise<unknown>): Promise<void> {
  try {
    await getRawInput();
  } catch (error) {
    // tRPC wraps what went wrong in a BAD_REQUEST: the cause says which.
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      if (e instanceof SyntaxError) throw new ProtocolError('PARSE_ERROR', 'the input is not valid JSON');
      if (e instanceof TRPCError && e.code === 'PAYLOAD_TOO_LARGE') {
        throw new ProtocolError('PAYLOAD_TOO_LARGE', 'the body is larger than this server accepts');
      }
    }
    throw error;
  }
}

export { RPC_OK };

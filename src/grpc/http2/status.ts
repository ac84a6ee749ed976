// A call's end as the engine writes it: the gRPC status, its message and metadata as trailers, or,
// when nothing was sent yet, as one HEADERS frame (a "trailers-only" response).
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';

/** A status the engine itself ends a call with (a bad frame, a limit, a deadline). */
export class GrpcFailure extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

export type CallStatus = Pick<StatusObject, 'code' | 'details'> & { metadata?: Metadata | null };

export const OK_STATUS: CallStatus = { code: status.OK, details: 'OK' };

/**
 * What a handler passes to the callback or emits as 'error', read the way grpc-js reads it: a
 * numeric `code` (else UNKNOWN), `details` (else the error's message) and optional `metadata`.
 */
export function statusOf(error: unknown): CallStatus {
  const value = (typeof error === 'object' && error !== null ? error : {}) as Partial<StatusObject> & {
    message?: unknown;
  };
  const code = typeof value.code === 'number' && status[value.code] !== undefined ? value.code : status.UNKNOWN;
  const details =
    typeof value.details === 'string'
      ? value.details
      : typeof value.message === 'string'
        ? value.message
        : 'Unknown error';
  return { code, details, metadata: value.metadata instanceof Metadata ? value.metadata : null };
}

/** Every response's headers: answered in identity; the request encodings the engine reads (messages.ts). */
export const RESPONSE_HEADERS: OutgoingHttpHeaders = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-encoding': 'identity',
  'grpc-accept-encoding': 'identity,deflate,gzip',
};

const OK_TRAILERS: OutgoingHttpHeaders = { 'grpc-status': '0', 'grpc-message': 'OK' };

export function trailersOf(outcome: CallStatus): OutgoingHttpHeaders {
  if (outcome === OK_STATUS) return OK_TRAILERS;
  return {
    ...outcome.metadata?.toHttp2Headers(),
    'grpc-status': String(outcome.code),
    // Percent-encoded, as the spec asks; grpc-js and grpcio decode it.
    'grpc-message': encodeURI(outcome.details),
  };
}

/** Ends a stream that sent nothing yet with `outcome`, in one HEADERS frame (a "trailers-only" response). */
export function respondTrailersOnly(stream: ServerHttp2Stream, outcome: CallStatus): void {
  stream.respond({ ...RESPONSE_HEADERS, ...trailersOf(outcome) }, { endStream: true });
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/** `grpc-timeout` (at most 8 digits and a unit) as milliseconds from now; throws INTERNAL when unreadable, as grpc-js does. */
export function timeoutMs(header: string): number {
  const match = /^(\d{1,8})([HMSmun])$/.exec(header.trim());
  if (!match) throw new GrpcFailure(status.INTERNAL, `Invalid grpc-timeout value "${header}"`);
  return Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!;
}

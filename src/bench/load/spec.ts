import type { LatencySummary } from '../stats.js';
import type { DriverName } from './drivers.js';
import type { Pinning } from '../pinning.js';

/**
 * gRPC (HTTP/2), REST over HTTP/1.1 or h2c, and what browsers speak: Connect, gRPC-Web and GraphQL over
 * HTTP/1.1 (tRPC's calls are plain HTTP requests: `http1`).
 */
export type LoadProtocol = 'grpc' | 'http1' | 'h2c' | 'connect' | 'grpc-web' | 'graphql';

/** Carried over HTTP/1.1, which is never pipelined: one request in flight per connection. */
export const overHttp1 = (protocol: LoadProtocol): boolean =>
  protocol === 'http1' || protocol === 'connect' || protocol === 'grpc-web' || protocol === 'graphql';

/**
 * A failed call may still be HTTP 200, its failure said in the body (gRPC-Web's trailers frame, GraphQL's
 * `errors`): h2load cannot tell, so its successes are counted by the bytes received.
 */
export const statusInBody = (protocol: LoadProtocol): boolean => protocol === 'grpc-web' || protocol === 'graphql';

/**
 * The call's status is a grpc-status in trailers (HTTP/2's, or gRPC-Web's trailers frame in the body),
 * not the HTTP status: a failed call is still HTTP 200, so successes are counted by reply size.
 */
export const statusInTrailers = (protocol: LoadProtocol): boolean => protocol === 'grpc' || protocol === 'grpc-web';

/** How a scenario loads each server: the driver, the cores, the connections and each run's times. */
export interface LoadRunSettings {
  driver: DriverName;
  pinning: Pinning;
  connections: number;
  durationS: number;
  warmupS: number;
}

/** One load run: the same shape whichever driver sends it. */
export interface LoadSpec {
  protocol: LoadProtocol;
  url: string;
  /** The request body (the call is then a POST): a gRPC frame, or a Connect or gRPC-Web message. */
  body?: Buffer;
  /** The HTTP method when it is neither GET nor POST (REST's PATCH). */
  method?: 'PATCH';
  /**
   * Every request numbered (the built-in driver only; h2load sends one body): each occurrence of
   * SEQUENCE_MARKER in the body becomes the request's number, `start` on, in as many digits, so
   * that every create names a new email and the body keeps its length.
   */
  sequence?: { start: number };
  /** Headers every request carries (its content type; the bearer token of a server with auth on). */
  headers?: Record<string, string>;
  connections: number;
  /** Concurrent streams per connection; HTTP/1.1 is never pipelined, so 1 there. */
  streams: number;
  durationS: number;
  warmupS: number;
}

export interface LoadResult {
  driver: 'h2load' | 'node';
  /** Requests completed in the measured window (after warm-up). */
  requests: number;
  /** HTTP 2xx and, for gRPC, grpc-status 0. */
  succeeded: number;
  failed: number;
  /** Successful requests per second of the measured window. */
  rps: number;
  latencyMs: LatencySummary;
  /** Cores the load generator used (1 = one core flat out). */
  clientCpu?: number;
  /** Cores the server used over the same window. */
  serverCpu?: number;
  /** The load generator, not the server, was the limit: its numbers are a floor. */
  clientSaturated: boolean;
}

/** What a numbered body holds where the number goes (ten digits: lengths and frames stay as they are). */
export const SEQUENCE_MARKER = '0000000000';

/** `body` with the marker replaced by `n` (zero-padded to the marker's width). */
export function numberedBody(body: Buffer, n: number): Buffer {
  const digits = Buffer.from(String(n).padStart(SEQUENCE_MARKER.length, '0'));
  if (digits.length !== SEQUENCE_MARKER.length) throw new Error(`request number ${n} is wider than the marker`);
  const copy = Buffer.from(body);
  for (let at = copy.indexOf(SEQUENCE_MARKER); at !== -1; at = copy.indexOf(SEQUENCE_MARKER, at + digits.length))
    digits.copy(copy, at);
  return copy;
}

export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export const GRPC_REQUEST_HEADERS = { 'content-type': 'application/grpc', te: 'trailers' } as const;

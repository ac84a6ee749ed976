import type { LatencySummary } from '../stats.js';

export type LoadProtocol = 'grpc' | 'http1' | 'h2c';

/** One load run: the same shape whichever driver sends it. */
export interface LoadSpec {
  protocol: LoadProtocol;
  url: string;
  /** A gRPC call's request frame (the call is then a POST). */
  body?: Buffer;
  /** Headers every request carries (the bearer token of a server with auth on). */
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

export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export const GRPC_REQUEST_HEADERS = { 'content-type': 'application/grpc', te: 'trailers' } as const;

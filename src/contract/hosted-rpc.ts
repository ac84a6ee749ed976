import type { FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import type { CallTelemetry } from '../telemetry/calls.js';
import type { EndlessCalls } from './endless-calls.js';

/**
 * What the REST server gives each RPC protocol it hosts on its port (Connect and gRPC-Web, GraphQL,
 * tRPC): the caller's admission, its limits, where its watches are held, and where its calls are reported.
 */
export interface HostedRpcOptions {
  /**
   * Who makes the request: the REST server's access hook admits every request on an `rpc` route and
   * leaves the refusal to the adapter, which answers it in its own protocol's terms.
   */
  admission(request: FastifyRequest): Promise<Principal>;
  /** The longest a unary call's work (a query's, a mutation's) may take. */
  requestTimeoutMs: number;
  /** Largest request body or message, as REST's body limit. */
  readMaxBytes: number;
  /** The connection idle timeout, lifted while a watch is open (a quiet watch is not an idle client). */
  idleTimeoutMs: number;
  endless: EndlessCalls;
  telemetry?: CallTelemetry;
}

/** The same for a protocol whose watches are Server-Sent Events. */
export interface HostedSseOptions extends HostedRpcOptions {
  /** Comment lines on idle event streams, so proxies keep them open. */
  heartbeatMs: number;
}

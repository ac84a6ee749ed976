// users.v1.UserService as tRPC procedures at /trpc, on the REST server's Fastify instance.
// (Being built: see issue 29.)
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EndlessCalls } from '../contract/endless-calls.js';
import type { Principal } from '../domain/access.js';
import type { UserService } from '../domain/user-service.js';
import type { CallTelemetry } from '../telemetry/calls.js';

export interface TrpcOptions {
  /** Who makes the request: the REST server's access hook admits every request on an `rpc` route; awaited here. */
  admission(request: FastifyRequest): Promise<Principal>;
  /** The longest a query's or mutation's work may take. */
  requestTimeoutMs: number;
  /** Largest request body. */
  readMaxBytes: number;
  /** The connection idle timeout, lifted while a subscription is open. */
  idleTimeoutMs: number;
  /** Comment lines on idle subscription streams, so proxies keep them open. */
  heartbeatMs: number;
  endless: EndlessCalls;
  telemetry?: CallTelemetry;
}

export async function trpcRoutes(_app: FastifyInstance, _service: UserService, _options: TrpcOptions): Promise<void> {}

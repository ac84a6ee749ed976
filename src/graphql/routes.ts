// users.v1.UserService as GraphQL at /graphql (Mercurius), on the REST server's Fastify instance.
// (Being built: see issue 29.)
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EndlessCalls } from '../contract/endless-calls.js';
import type { Principal } from '../domain/access.js';
import type { UserService } from '../domain/user-service.js';
import type { CallTelemetry } from '../telemetry/calls.js';

/** The GraphQL settings (flags --graphql-*). */
export interface GraphqlSettings {
  /** Deepest selection a query may have (past it: refused before it runs). */
  maxDepth: number;
  /** Most fields a query may select, lists counted by the users they may return. */
  maxComplexity: number;
  /** `automatic`: Automatic Persisted Queries (hash first, text once); `off`: every request sends its text. */
  persistedQueries: 'automatic' | 'off';
  /** A JSON file of known queries ({"<sha256>": "<query>"}): when set, only those are served. '' = any query. */
  knownQueriesFile: string;
}

export const GRAPHQL_DEFAULTS: GraphqlSettings = {
  maxDepth: 8,
  maxComplexity: 2000,
  persistedQueries: 'automatic',
  knownQueriesFile: '',
};

export interface GraphqlOptions extends GraphqlSettings {
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

export async function graphqlRoutes(
  _app: FastifyInstance,
  _service: UserService,
  _options: GraphqlOptions,
): Promise<void> {}

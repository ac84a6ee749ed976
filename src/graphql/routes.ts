// users.v1.UserService as GraphQL at /graphql (Mercurius), on the REST server's Fastify instance:
// queries and mutations by Mercurius (its parse and validation caches, persisted queries), the
// subscription over SSE at /graphql/stream, the explorer at /graphiql. Every request is admitted by
// the access hook's admission before its body is read, observed as one call, and refused in
// GraphQL's terms (errors.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, OperationTypeNode, type ValidationRule } from 'graphql';
import mercurius from 'mercurius';
import secureJson from 'secure-json-parse';
import type { HostedSseOptions } from '../contract/hosted-rpc.js';
import { refusalHeaders } from '../contract/refusal-headers.js';
import type { UserService } from '../domain/user-service.js';
import { type RequestContext, UserReads } from './context.js';
import { errorsBody, formatError, queryError, refusal } from './errors.js';
import { explorerRoutes } from './explorer.js';
import { queryLimits } from './limits.js';
import { NO_OPERATION, ObservedRequests, operationLabel, statusOf } from './observe.js';
import { persistedQueries } from './persisted.js';
import { executableSchema } from './resolvers.js';
import { streamRoutes, watcher } from './stream.js';

export { GRAPHQL_OPEN_ROUTES } from './explorer.js';

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

export interface GraphqlOptions extends GraphqlSettings, HostedSseOptions {}

/** Tokens a query may have: parsing stops past it (a body of a million tokens is refused, not parsed). */
const MAX_TOKENS = 10_000;

/** A JSON body, refused if it has a `__proto__` or `constructor.prototype` key (as REST refuses it). */
function parseJson(_request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) {
  try {
    done(null, secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' }));
  } catch {
    done(queryError('the body is not valid JSON (or has a "__proto__" key)', 'MALFORMED_BODY'));
  }
}

/** A GraphQL request is one JSON object (batches of operations are not served: one request, one operation). */
function checkShape(request: FastifyRequest) {
  const raw: unknown = request.method === 'GET' ? request.query : request.body;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const message = Array.isArray(raw)
      ? 'batched operations are not served: send one operation per request'
      : 'the request must be one GraphQL request: {"query", "variables", "operationName"}';
    throw queryError(message, Array.isArray(raw) ? 'BATCH_NOT_SERVED' : 'MALFORMED_REQUEST');
  }
  const { query, operationName, variables, extensions } = raw as Record<string, unknown>;
  if (query !== undefined && typeof query !== 'string') throw queryError('query must be a string', 'MALFORMED_REQUEST');
  // A GET's variables and extensions are JSON text (Mercurius parses them); a POST's are objects.
  // Either way they must come to an object: read the text here, by the same parser as bodies.
  const parsed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries({ variables, extensions })) {
    parsed[name] = request.method === 'GET' && typeof value === 'string' ? jsonText(name, value) : value;
    const object = parsed[name];
    if (object != null && (typeof object !== 'object' || Array.isArray(object))) {
      throw queryError(
        `${name} must be ${request.method === 'GET' ? 'JSON text of ' : ''}an object`,
        'MALFORMED_REQUEST',
      );
    }
  }
  if (operationName != null && typeof operationName !== 'string') {
    throw queryError('operationName must be a string', 'MALFORMED_REQUEST');
  }
  // Without a query, only an Automatic Persisted Query's hash names one (else APQ's "not found" would mislead).
  const persisted = (parsed.extensions as { persistedQuery?: unknown } | null | undefined)?.persistedQuery;
  if (query === undefined && persisted === undefined) throw queryError('the request has no query', 'MALFORMED_REQUEST');
}

/** A GET's variables or extensions, parsed as a body is (a `__proto__` key refused). */
function jsonText(name: string, text: string): unknown {
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw queryError(`${name} is not valid JSON (or has a "__proto__" key)`, 'MALFORMED_REQUEST');
  }
}

/**
 * Subscriptions stream at /graphql/stream: sent here, one would run once as a query and fail
 * inside the server. Refused by validation instead, with the place to send it.
 */
const subscriptionsElsewhere: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === OperationTypeNode.SUBSCRIPTION) {
      context.reportError(
        new GraphQLError('subscriptions are served as Server-Sent Events at /graphql/stream', { nodes: node }),
      );
    }
  },
});

/** Aborts when the client leaves before its answer is written: its database work not yet begun is not begun. */
function leftSignal(reply: FastifyReply): AbortSignal {
  const left = new AbortController();
  const leave = () => {
    if (!reply.raw.writableFinished) left.abort();
  };
  reply.raw.once('close', leave);
  return left.signal;
}

/** Registers /graphql (GET and POST), /graphql/stream and the explorer. */
export async function graphqlRoutes(
  app: FastifyInstance,
  service: UserService,
  options: GraphqlOptions,
): Promise<void> {
  const persisted = persistedQueries(options.persistedQueries, options.knownQueriesFile);
  const schema = executableSchema(service, watcher(service, options.endless));
  const rules = [queryLimits(options)];
  const observed = new ObservedRequests(options.telemetry);

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
      parseJson(request, body as string, done),
    );
    // Admitted before the body is read: a refused caller's body is never parsed.
    scope.addHook('preParsing', async (request) => {
      request.principal = await options.admission(request);
    });
    scope.addHook('preHandler', async (request) => {
      if (request.routeOptions.url === '/graphql') checkShape(request);
    });
    scope.addHook('onResponse', async (request) => observed.end(request));
    scope.addHook('onRequestAbort', async (request) => observed.end(request, 'CANCELLED'));

    const logInternal = (request: FastifyRequest) => (err: unknown) =>
      request.log.error({ err, route: request.routeOptions.url }, 'graphql request failed');
    // A request refused as a whole: REST's status for its code (400 for GraphQL's own refusals); the
    // subscription route's refusals before its handler (admission, body) too.
    const refuse = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const { status, errors } = refusal(error, logInternal(request));
      observed.begin(request, NO_OPERATION);
      observed.setStatus(request, statusOf(errors));
      const [first] = errors;
      if (first) void reply.headers(refusalHeaders(first.extensions.code, first.extensions.metadata));
      void reply.code(status).type('application/json').send(errorsBody(errors));
    };
    scope.setErrorHandler(refuse);
    await scope.register(mercurius, {
      schema,
      path: '/graphql',
      graphiql: false,
      ide: false,
      allowBatchedQueries: false,
      validationRules: [...rules, subscriptionsElsewhere],
      persistedQueryProvider: persisted.provider,
      graphql: { parseOptions: { maxTokens: MAX_TOKENS } },
      // graphql-jit compiles a query the second time it is seen (Mercurius keeps 1,024 parsed
      // queries): measured 3× faster to execute GetUser's selection, 4.6× a 100-user page's.
      jit: 1,
      additionalRouteOptions: { config: { rpc: true }, schema: { hide: true }, bodyLimit: options.readMaxBytes },
      context: (request: FastifyRequest, reply: FastifyReply): RequestContext => {
        const call = {
          deadline: Date.now() + options.requestTimeoutMs,
          signal: leftSignal(reply),
          ...(request.principal ? { principal: request.principal } : {}),
        };
        return { call, users: new UserReads(service, call) };
      },
      // Errors of some fields of a query that ran: 200, data beside the errors.
      errorFormatter: (execution, context) => {
        const request = context.reply.request;
        const errors = (execution.errors ?? []).map((e) => formatError(e, logInternal(request)));
        observed.setStatus(request, statusOf(errors));
        // No data and no field at fault: the request itself could not run (no operation named, an
        // operation it does not have), as a validation error could not: refused as a whole.
        const requestFailed = execution.data == null && (execution.errors ?? []).every((e) => e.path === undefined);
        return { statusCode: requestFailed ? 400 : 200, response: { data: execution.data ?? null, errors } };
      },
      errorHandler: refuse,
    });
    if (options.knownQueriesFile !== '')
      scope.graphql.addHook('preParsing', async (_schema, source) => persisted.check(source));
    scope.graphql.addHook('preExecution', async (_schema, document, context) => {
      const request = (context as unknown as { reply: FastifyReply }).reply.request;
      const { operationName } = (request.method === 'GET' ? request.query : request.body) as { operationName?: string };
      observed.begin(request, operationLabel(document, operationName));
    });
    streamRoutes(scope, schema, rules, persisted, { ...options, maxTokens: MAX_TOKENS });
  });
  explorerRoutes(app);
}

// The userEvents subscription over Server-Sent Events, as graphql-sse's "distinct connections" mode
// writes it: one request per subscription (GET or POST /graphql/stream, the usual GraphQL request),
// answered by `event: next` messages (data: an ExecutionResult) and one `event: complete`. Each
// event's `id:` is its revision, so a client resumes after the last one it got (afterRevision, or
// Last-Event-ID as an EventSource sends it). An error after the stream began (shutdown: UNAVAILABLE;
// a resume point the log no longer keeps: REVISION_EXPIRED; a token that expired: UNAUTHENTICATED)
// is a `next` with `errors`, then `complete`.
import { once } from 'node:events';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type DocumentNode,
  type ExecutionResult,
  getOperationAST,
  type GraphQLError,
  OperationTypeNode,
  type GraphQLSchema,
  parse,
  specifiedRules,
  subscribe,
  validate,
  type ValidationRule,
} from 'graphql';
import { holdOpen } from '../contract/hold-open.js';
import type { EndlessCalls } from '../contract/endless-calls.js';
import type { HostedSseOptions } from '../contract/hosted-rpc.js';
import { RPC_OK } from '../contract/rpc-status.js';
import { cancelled, unavailable } from '../domain/errors.js';
import type { UserService } from '../domain/user-service.js';
import { isBookmark, type WatchEvent } from '../domain/user.js';
import type { SubscriptionContext } from './context.js';
import { errorsBody, formatError, type GraphqlError, type LogInternal, queryError, refusal } from './errors.js';
import { operationLabel, statusOf } from './observe.js';
import type { PersistedQueries } from './persisted.js';
import type { SubscriptionSource } from './resolvers.js';

export const STREAM_PATH = '/graphql/stream';

/** A subscription's context, with the event its last result came from (for the message's `id:`). */
interface StreamContext extends SubscriptionContext {
  current?: WatchEvent;
}

export interface StreamOptions extends Pick<
  HostedSseOptions,
  'admission' | 'heartbeatMs' | 'idleTimeoutMs' | 'endless' | 'telemetry'
> {
  maxTokens: number;
}

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

/**
 * The watch a subscription opens, held in `endless` (shutdown ends it with UNAVAILABLE), its changes
 * counted as delivered, ended when the client leaves.
 */
export function watcher(service: UserService, endless: EndlessCalls): SubscriptionSource {
  return async ({ afterRevision, userIds, bookmarks }, context) => {
    const stop = new AbortController();
    let shutdown = false;
    const release = endless.add(() => {
      shutdown = true;
      stop.abort();
    });
    const { signal, principal } = context.call;
    const end = () => stop.abort();
    signal.addEventListener('abort', end, { once: true });
    const done = () => {
      release();
      signal.removeEventListener('abort', end);
    };
    let events: AsyncIterable<WatchEvent>;
    try {
      events = await service.watchUsers({
        ...(afterRevision === undefined ? {} : { afterRevision }),
        userIds: new Set(userIds),
        signal: stop.signal,
        ...(principal ? { principal } : {}),
        ...(bookmarks === undefined ? {} : { bookmarks }),
      });
    } catch (error) {
      done();
      throw error;
    }
    return (async function* () {
      try {
        for await (const event of events) {
          (context as StreamContext).current = event;
          yield event;
          if (!isBookmark(event)) endless.delivered++;
        }
        if (shutdown) throw unavailable('the server is shutting down: resume after your last revision');
        if (signal.aborted) throw cancelled();
      } finally {
        done();
      }
    })();
  };
}

/** A GraphQL request's parts, from a GET's query string or a POST's JSON body. */
interface GraphqlRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
  extensions?: unknown;
}

function requestOf(request: FastifyRequest): {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  hash?: string;
} {
  const raw = (request.method === 'GET' ? request.query : request.body) as GraphqlRequest | undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw queryError(
      'the request must be one GraphQL request: {"query", "variables", "operationName"}',
      'MALFORMED_REQUEST',
    );
  }
  const json = (value: unknown) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw queryError('the variables or extensions are not valid JSON', 'MALFORMED_REQUEST');
    }
  };
  const variables = json(raw.variables);
  const extensions = json(raw.extensions) as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
  const hash = extensions?.persistedQuery?.sha256Hash;
  if (raw.query !== undefined && typeof raw.query !== 'string')
    throw queryError('query must be a string', 'MALFORMED_REQUEST');
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) {
    throw queryError('variables must be an object', 'MALFORMED_REQUEST');
  }
  return {
    query: raw.query ?? '',
    ...(variables == null ? {} : { variables: variables as Record<string, unknown> }),
    ...(typeof raw.operationName === 'string' ? { operationName: raw.operationName } : {}),
    ...(typeof hash === 'string' ? { hash } : {}),
  };
}

/** The document of a subscription request, checked as /graphql checks a query; a GraphQL refusal otherwise. */
async function documentOf(
  source: { query: string; hash?: string },
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
  persisted: PersistedQueries,
  maxTokens: number,
): Promise<DocumentNode> {
  let query = source.query;
  if (query === '' && source.hash !== undefined) {
    query = (await persisted.provider.getQueryFromHash(source.hash)) ?? '';
    if (query === '') throw queryError('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND');
  }
  if (query === '') throw queryError('the request has no query', 'MALFORMED_REQUEST');
  persisted.check(query);
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens });
  } catch (error) {
    throw validationError([error as GraphQLError]);
  }
  const errors = validate(schema, document, [...specifiedRules, ...rules]);
  if (errors.length > 0) throw validationError(errors);
  return document;
}

/** GraphQL's errors as Mercurius raises them, so both routes refuse them alike. */
const validationError = (errors: readonly GraphQLError[]) =>
  Object.assign(new Error('GraphQL validation error'), { code: 'MER_ERR_GQL_VALIDATION', errors });

const message = (event: string, data: unknown, id?: number) =>
  `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const COMPLETE = 'event: complete\ndata: \n\n';

export function streamRoutes(
  app: FastifyInstance,
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
  persisted: PersistedQueries,
  options: StreamOptions,
): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const logInternal: LogInternal = (err) => request.log.error({ err, route: STREAM_PATH }, 'subscription failed');
    let method = '(none)';
    const begin = () =>
      options.telemetry?.begin(
        { protocol: 'graphql', method },
        { traceparent: request.headers.traceparent, requestId: request.id },
      );
    const left = new AbortController();
    const context: StreamContext = { call: { signal: left.signal } };
    let result: ExecutionResult | AsyncGenerator<ExecutionResult>;
    try {
      const principal = await options.admission(request);
      if (principal) context.call.principal = principal;
      const source = requestOf(request);
      const document = await documentOf(source, schema, rules, persisted, options.maxTokens);
      if (getOperationAST(document, source.operationName)?.operation !== OperationTypeNode.SUBSCRIPTION) {
        throw queryError(
          `${STREAM_PATH} serves subscriptions: send queries and mutations to /graphql`,
          'NOT_A_SUBSCRIPTION',
        );
      }
      method = operationLabel(document, source.operationName);
      const lastEventId = request.headers['last-event-id'];
      if (typeof lastEventId === 'string' && lastEventId !== '') context.lastEventId = lastEventId;
      result = await subscribe({
        schema,
        document,
        contextValue: context,
        ...(source.variables ? { variableValues: source.variables } : {}),
        ...(source.operationName ? { operationName: source.operationName } : {}),
      });
      // Errors at no field (variables that do not coerce, no such operation): the request, refused as a whole.
      if (!(Symbol.asyncIterator in result) && (result.errors ?? []).every((e) => e.path === undefined)) {
        throw validationError(result.errors ?? []);
      }
    } catch (error) {
      const { status, errors } = refusal(error, logInternal);
      const observed = begin();
      if (observed) observed.principal = context.call.principal;
      observed?.end(statusOf(errors));
      return reply.code(status).type('application/json').send(errorsBody(errors));
    }
    const observed = begin();
    if (observed) observed.principal = context.call.principal;
    const raw = reply.hijack().raw;
    raw.writeHead(200, request.raw.httpVersionMajor >= 2 ? HEADERS : { ...HEADERS, connection: 'keep-alive' });
    raw.write(': subscribed\n\n');
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), options.heartbeatMs);
    const release = holdOpen(request.raw, options.idleTimeoutMs);
    // The response's close, not the request's: a POST's request closes once its body is read.
    const leave = () => left.abort();
    raw.on('close', leave);
    // Gone while the watch opened: its close came before the listener.
    if (raw.destroyed) leave();
    let sent = 0;
    let status = RPC_OK;
    const format = (r: ExecutionResult) => {
      const errors: GraphqlError[] | undefined = r.errors?.map((e) => formatError(e, logInternal));
      if (errors) status = statusOf(errors);
      return { ...(r.data === undefined ? {} : { data: r.data }), ...(errors ? { errors } : {}) };
    };
    try {
      if (!(Symbol.asyncIterator in result)) raw.write(message('next', format(result)));
      else {
        for await (const next of result) {
          const room = raw.write(message('next', format(next), context.current?.revision));
          sent++;
          if (!room) await once(raw, 'drain', { signal: left.signal }).catch(() => undefined);
        }
      }
    } catch (error) {
      const formatted = formatError(error, logInternal);
      status = statusOf([formatted]);
      if (!left.signal.aborted) raw.write(message('next', { errors: [formatted] }));
    } finally {
      clearInterval(heartbeat);
      release();
      raw.off('close', leave);
      if (Symbol.asyncIterator in result) await result.return(undefined);
      observed?.end(left.signal.aborted ? 'CANCELLED' : status, sent);
      if (!raw.destroyed) raw.end(COMPLETE);
    }
  };
  const route = { config: { rpc: true }, schema: { hide: true } };
  app.get(STREAM_PATH, route, handler);
  app.post(STREAM_PATH, route, handler);
}

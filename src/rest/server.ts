import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import secureJson from 'secure-json-parse';
import type { Logger } from 'pino';
import type { AccessGate } from '../domain/ports.js';
import { accessHook } from './access.js';
import type { CallTelemetry } from '../telemetry/calls.js';
import { requestIdOf, requestObserver } from './telemetry.js';
import { bindRouteHooks } from './route-hooks.js';
import { lazyChildLogger } from './request-logger.js';
import type { UserService } from '../domain/user-service.js';
import { clientErrorResponse, HttpError, HttpErrorCode, toErrorResponse } from './errors.js';
import { OpenStreams } from './streams.js';
import { validatorCompiler } from './validation.js';
import { decodeMsgpack } from './msgpack.js';
import { MEDIA } from './representation.js';
import { consoleRoutes } from './routes/console.js';
import { eventRoutes, SSE_EVENTS_DOC } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { userRoutes } from './routes/users.js';
import { connectRoutes } from '../connect/routes.js';
import { GRAPHQL_DEFAULTS, type GraphqlSettings, graphqlRoutes } from '../graphql/routes.js';
import { trpcRoutes } from '../trpc/routes.js';
import { errorSchema, userPageSchema, userSchema } from './schemas.js';
import { REPRESENTATION_CACHE_DEFAULTS, RepresentationCache } from '../contract/representations.js';

export interface RestServerOptions {
  host: string;
  port: number;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
  /** Serve cleartext HTTP/2 (h2c, prior knowledge) instead of HTTP/1.1. */
  http2: boolean;
  /** Comment lines on idle event streams, so proxies keep them open. */
  sseHeartbeatMs: number;
  /**
   * How long one request may take: to arrive (headers and body; 408 past it) and then to be
   * served (its database work stops at that deadline; 504). Event streams are not cut by it.
   */
  requestTimeoutMs: number;
  /** How long the request line and headers may take to arrive (408 past it): against header slowloris. */
  headersTimeoutMs: number;
  /** How long a kept-alive connection may wait idle for its next request. */
  keepAliveTimeoutMs: number;
  /** How long a connection may see no traffic at all, either way, before it is closed (a stalled reader). */
  idleTimeoutMs: number;
  /** Admits each request but the open routes (who makes it; its rate limit; load shedding). */
  gate: AccessGate;
  /** Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN with `http2`); with `clientCa`, require client certificates. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  /** Where each request is reported (metrics, access log, span); absent: requests are not observed at all. */
  telemetry?: CallTelemetry;
  /** The built web console (`npm run build`), served at `/`; without it `/` says to build it. */
  consoleDir: string;
  /** Where `twinapi bench` writes its runs: the newest report is served at `/console/bench-report`. */
  benchResultsDir: string;
  /** Users' encodings kept per version and form (contract/representations.ts); 0 keeps none. */
  representationCacheSize: number;
  /** GraphQL's limits and persisted queries (src/graphql). */
  graphql: GraphqlSettings;
}

/** The watch streams each protocol this server hosts holds open: SSE (REST's), Connect and gRPC-Web, GraphQL, tRPC. */
export type HostedStreams = Record<'sse' | 'connect' | 'graphql' | 'trpc', OpenStreams>;

export const hostedStreams = (): HostedStreams => ({
  sse: new OpenStreams(),
  connect: new OpenStreams(),
  graphql: new OpenStreams(),
  trpc: new OpenStreams(),
});

export const REST_DEFAULTS: Omit<RestServerOptions, 'host' | 'port' | 'gate' | 'telemetry'> = {
  bodyLimitBytes: 1024 * 1024,
  http2: false,
  sseHeartbeatMs: 15_000,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  // This file is src/rest/server.ts, or dist/rest/server.js once built: the package root is two levels up.
  consoleDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
  // Relative: under the server's working directory, where `npm run bench` writes it.
  benchResultsDir: 'bench-results',
  representationCacheSize: REPRESENTATION_CACHE_DEFAULTS.capacity,
  graphql: GRAPHQL_DEFAULTS,
};

export interface RestServer {
  name: 'rest';
  address: string;
  port: number;
  app: FastifyInstance;
  /** Event streams (SSE) open now. */
  readonly watchStreams: number;
  /** Events written to event streams since the start. */
  readonly eventsDelivered: number;
  /** Watches over Connect and gRPC-Web (WatchUsers, SubscribeUsers) open now. */
  readonly rpcWatchStreams: number;
  /** Events written to those since the start. */
  readonly rpcEventsDelivered: number;
  /** Each hosted protocol's watch streams: how many are open, and the events written to them. */
  readonly streams: Readonly<Record<keyof HostedStreams, { readonly size: number; readonly delivered: number }>>;
  shutdown(timeoutMs: number): Promise<void>;
}

/** The Fastify app with every route, not yet listening (tests and the OpenAPI export use it too). */
export async function buildRestApp(
  service: UserService,
  settings: Omit<RestServerOptions, 'host' | 'port'>,
  logger: Logger,
  hosted: HostedStreams = hostedStreams(),
): Promise<FastifyInstance> {
  const streams = hosted.sse;
  const sendError = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, headers, internal } = toErrorResponse(error);
    // The route, not the URL: the event stream's URL may carry an access token.
    if (internal)
      request.log.error({ err: error, method: request.method, route: request.routeOptions.url }, 'request failed');
    return reply.code(status).headers(headers).type('application/json').send(body);
  };
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's two lines per request are off: the access log (telemetry) writes one, when it is on.
    // The request id Fastify binds to a request's log lines goes by the access log's name for it.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    childLoggerFactory: lazyChildLogger,
    ...(settings.telemetry ? { genReqId: requestIdOf } : {}),
    bodyLimit: settings.bodyLimitBytes,
    http2: settings.http2,
    ...(settings.tls ? { https: httpsOptions(settings.tls, settings.http2) } : {}),
    requestTimeout: settings.requestTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    // Node checks those timeouts every 30 s by default, so a 10 s limit could hold for 40: check each second.
    // Headers are part of the request: their timeout is at most the request's.
    http: {
      headersTimeout: Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(1000, settings.headersTimeoutMs),
    },
    connectionTimeout: settings.idleTimeoutMs,
    http2SessionTimeout: settings.idleTimeoutMs,
    return503OnClosing: false,
    // Errors before any route (a URL that does not decode, an over-long parameter), in the documented body.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
      sendError(error, request, reply),
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code !== 'ECONNRESET' && !socket.destroyed && socket.writable) socket.write(clientErrorResponse(error));
      socket.destroy(error);
    },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  // Declared, so that every request object has them from the start: added to some requests only,
  // they changed the objects' shape, a slow path per request.
  app.decorateRequest('principal', undefined);
  app.decorateRequest('admission', undefined);

  // Bodies are JSON, MessagePack or (for POST /users) protobuf; anything else is 415.
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser(MEDIA.json, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error);
    }
  });
  app.addContentTypeParser(MEDIA.msgpack, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, decodeMsgpack(body as Buffer));
    } catch {
      done(new HttpError(HttpErrorCode.MALFORMED_BODY, 'the request body is not valid MessagePack'));
    }
  });

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  // Telemetry first, so that it also sees the calls the access gate refuses.
  bindRouteHooks(app, [
    ...(settings.telemetry ? [requestObserver(settings.telemetry)] : []),
    accessHook(settings.gate, streams),
  ]);
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        toErrorResponse(new HttpError(HttpErrorCode.ROUTE_NOT_FOUND, `no route ${request.method} ${request.url}`)).body,
      ),
  );

  for (const schema of [userSchema, userPageSchema, errorSchema]) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'twinapi users',
        version: '1.0.0',
        description:
          'The REST face of users.v1.UserService. Errors are always the Error body as JSON; ' +
          'the same service is served as gRPC, Connect and gRPC-Web (see docs/browsers.md).',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // Relative: the document describes the server that serves it, whatever its address.
      servers: [{ url: '/', description: 'this server' }],
      tags: [
        { name: 'users', description: 'users.v1.UserService: read, create, change and delete users' },
        { name: 'events', description: 'the change feed as Server-Sent Events' },
        { name: 'health', description: 'liveness and readiness, open to load balancers' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          accessToken: { type: 'apiKey', in: 'query', name: 'access_token' },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    // The event stream's events and their data schemas (see SSE_EVENTS_DOC for why an extension).
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      const stream = openapiObject.paths?.['/users/events']?.get?.responses?.['200'] as
        { content?: Record<string, Record<string, unknown>> } | undefined;
      const media = stream?.content?.['text/event-stream'];
      if (media) media['x-sse-events'] = SSE_EVENTS_DOC;
      return openapiObject;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  healthRoutes(app, service, () => streams.closing);
  eventRoutes(app, service, { heartbeatMs: settings.sseHeartbeatMs, streams });
  userRoutes(app, service, {
    requestTimeoutMs: settings.requestTimeoutMs,
    representations: new RepresentationCache(settings.representationCacheSize),
  });
  consoleRoutes(app, { consoleDir: settings.consoleDir, benchResultsDir: settings.benchResultsDir });
  // users.v1.UserService for browsers and Connect clients, GraphQL and tRPC, on this same port: each
  // admits (the access hook's admission), observes and answers errors in its own protocol's terms.
  const rpc = {
    admission: (request: FastifyRequest) =>
      request.admission ?? Promise.reject(new Error('the access hook did not admit this call')),
    requestTimeoutMs: settings.requestTimeoutMs,
    readMaxBytes: settings.bodyLimitBytes,
    idleTimeoutMs: settings.idleTimeoutMs,
    ...(settings.telemetry ? { telemetry: settings.telemetry } : {}),
  };
  await connectRoutes(app, service, { ...rpc, endless: hosted.connect });
  const heartbeatMs = settings.sseHeartbeatMs;
  await graphqlRoutes(app, service, { ...rpc, ...settings.graphql, heartbeatMs, endless: hosted.graphql });
  await trpcRoutes(app, service, { ...rpc, heartbeatMs, endless: hosted.trpc });
  return app;
}

export async function startRestServer(
  service: UserService,
  options: Partial<RestServerOptions> & Pick<RestServerOptions, 'host' | 'port' | 'gate'>,
  logger: Logger,
): Promise<RestServer> {
  const settings = { ...REST_DEFAULTS, ...options };
  const hosted = hostedStreams();
  const { sse: streams, connect: rpcStreams } = hosted;
  const app = await buildRestApp(service, settings, logger, hosted);
  // HTTP/2 sessions a client keeps open (idle between calls) would hold shutdown until their idle
  // timeout: shutdown sends each a GOAWAY (in-flight streams finish), and cuts them at the deadline.
  const sessions = new Set<Http2Session>();
  if (settings.http2) {
    app.server.on('session', (session: Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
  }
  try {
    await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    await app.close();
    throw new Error(`REST cannot listen on ${settings.host}:${settings.port}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return {
    name: 'rest',
    address: `${settings.http2 ? 'h2c' : 'http'}://${settings.host}:${port}`,
    port,
    app,
    get watchStreams() {
      return streams.size;
    },
    get eventsDelivered() {
      return streams.delivered;
    },
    get rpcWatchStreams() {
      return rpcStreams.size;
    },
    get rpcEventsDelivered() {
      return rpcStreams.delivered;
    },
    streams: hosted,
    async shutdown(timeoutMs) {
      for (const open of Object.values(hosted)) open.closeAll();
      for (const session of sessions) session.close();
      const force = setTimeout(() => {
        logger.warn('REST drain timed out; closing remaining connections');
        (app.server as { closeAllConnections?: () => void }).closeAllConnections?.();
        for (const session of sessions) session.destroy();
      }, timeoutMs);
      await app.close();
      clearTimeout(force);
    },
  };
}

/** JSON bodies; a `__proto__` or `constructor.prototype` key (prototype pollution) is refused, and says so. */
function parseJson(text: string): unknown {
  if (text === '')
    throw new HttpError(HttpErrorCode.MALFORMED_BODY, 'the body is empty, but its Content-Type says JSON');
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = /forbidden (prototype|constructor) property/.test((error as Error).message)
      ? 'the JSON body has a "__proto__" or "constructor.prototype" key, which is refused'
      : 'the body is not valid JSON';
    throw new HttpError(HttpErrorCode.MALFORMED_BODY, message);
  }
}

/** Node's TLS options: the server's certificate, and with a client CA, client certificates required. */
function httpsOptions(tls: NonNullable<RestServerOptions['tls']>, http2: boolean) {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    // HTTP/2 by ALPN, HTTP/1.1 for clients that do not offer it.
    ...(http2 ? { allowHTTP1: true } : {}),
  };
}

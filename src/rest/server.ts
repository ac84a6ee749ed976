import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { UserService } from '../domain/user-service.js';
import { HttpError, HttpErrorCode, toErrorResponse } from './errors.js';
import { decodeMsgpackBody, MEDIA } from './representation.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { userRoutes } from './routes/users.js';
import { errorSchema, userPageSchema, userSchema } from './schemas.js';

export interface RestServerOptions {
  host: string;
  port: number;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
  /** Serve cleartext HTTP/2 (h2c, prior knowledge) instead of HTTP/1.1. */
  http2: boolean;
  /** Comment lines on idle event streams, so proxies keep them open. */
  sseHeartbeatMs: number;
  /** How long one request may take; its database work stops at that deadline (504). */
  requestTimeoutMs: number;
}

export const REST_DEFAULTS: Omit<RestServerOptions, 'host' | 'port'> = {
  bodyLimitBytes: 1024 * 1024,
  http2: false,
  sseHeartbeatMs: 15_000,
  requestTimeoutMs: 30_000,
};

export interface RestServer {
  name: 'rest';
  address: string;
  port: number;
  app: FastifyInstance;
  shutdown(timeoutMs: number): Promise<void>;
}

/** The Fastify app with every route, not yet listening (tests and the OpenAPI export use it too). */
export async function buildRestApp(
  service: UserService,
  settings: Omit<RestServerOptions, 'host' | 'port'>,
  logger: Logger,
  shutdown: AbortSignal = new AbortController().signal,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    // One line per request would cost more than the request: access logs belong to the proxy.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.bodyLimitBytes,
    http2: settings.http2,
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array' } },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  // Bodies are JSON, MessagePack or (for POST /users) protobuf; anything else is 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(MEDIA.msgpack, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, decodeMsgpackBody(body as Buffer));
    } catch {
      done(new HttpError(HttpErrorCode.MALFORMED_BODY, 'the request body is not valid MessagePack'));
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = toErrorResponse(error);
    if (internal) request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(status).type('application/json').send(body);
  });
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
      info: { title: 'twinapi users', version: '1.0.0', description: 'The REST face of users.v1.UserService.' },
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  healthRoutes(app, service, () => shutdown.aborted);
  eventRoutes(app, service, { heartbeatMs: settings.sseHeartbeatMs, shutdown });
  userRoutes(app, service, { requestTimeoutMs: settings.requestTimeoutMs });
  return app;
}

export async function startRestServer(
  service: UserService,
  options: Partial<RestServerOptions> & Pick<RestServerOptions, 'host' | 'port'>,
  logger: Logger,
): Promise<RestServer> {
  const settings = { ...REST_DEFAULTS, ...options };
  const shuttingDown = new AbortController();
  const app = await buildRestApp(service, settings, logger, shuttingDown.signal);
  await app.listen({ host: settings.host, port: settings.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return {
    name: 'rest',
    address: `${settings.http2 ? 'h2c' : 'http'}://${settings.host}:${port}`,
    port,
    app,
    async shutdown(timeoutMs) {
      shuttingDown.abort();
      const force = setTimeout(() => {
        logger.warn('REST drain timed out; closing remaining connections');
        (app.server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }, timeoutMs);
      await app.close();
      clearTimeout(force);
    },
  };
}

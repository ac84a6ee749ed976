import type {} from '@fastify/swagger';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { invalidArgument, unavailable } from '../../domain/errors.js';
import type { UserService } from '../../domain/user-service.js';
import type { EventType, UserEvent } from '../../domain/user.js';
import { toErrorResponse } from '../errors.js';
import { userToJson } from '../representation.js';
import type { OpenStreams } from '../streams.js';
import { BEARER, errorResponses, eventsQuery } from '../schemas.js';

/** The SSE event name of each change: every type has one, or the build breaks. */
export const SSE_EVENT_NAME: Record<EventType, string> = {
  EVENT_TYPE_CREATED: 'created',
  EVENT_TYPE_UPDATED: 'updated',
  EVENT_TYPE_DELETED: 'deleted',
};

/** One SSE message: `id` is the revision, so EventSource's Last-Event-ID resumes exactly. */
export function formatEvent(event: UserEvent): string {
  const data = JSON.stringify(userToJson(event.user));
  return `id: ${event.revision}\nevent: ${SSE_EVENT_NAME[event.type]}\ndata: ${data}\n\n`;
}

/** Last-Event-ID wins over the query, as a reconnecting EventSource sends it. */
function afterRevision(header: string | string[] | undefined, query: number | undefined): number | undefined {
  if (typeof header !== 'string' || header === '') return query;
  const revision = Number(header);
  if (!Number.isInteger(revision) || revision < 0) {
    throw invalidArgument([{ field: 'Last-Event-ID', description: 'must be a revision this stream sent' }]);
  }
  return revision;
}

export interface EventsOptions {
  heartbeatMs: number;
  /** Where open streams are held, so shutdown can end them (and no stream starts after it began). */
  streams: OpenStreams;
}

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

/** An error after the stream began, as an SSE event in the documented body (never a raw message). */
export function errorEvent(error: unknown): string {
  const { body } = toErrorResponse(error);
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}

export function eventRoutes(app: FastifyInstance, service: UserService, options: EventsOptions): void {
  app.get<{ Querystring: { user_ids?: string; after_revision?: number } }>(
    '/users/events',
    {
      // HEAD answers the stream's headers and ends; it starts no watch.
      exposeHeadRoute: false,
      schema: {
        summary: 'Server-Sent Events of user changes (created, updated, deleted); resumable with Last-Event-ID',
        security: [...BEARER, { accessToken: [] }],
        querystring: eventsQuery,
        produces: ['text/event-stream'],
        response: { 200: { type: 'string', description: 'text/event-stream' }, ...errorResponses(400, 410) },
      },
    },
    async (request, reply) => {
      const ids = (request.query.user_ids ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const stop = new AbortController();
      const end = () => stop.abort();
      const release = options.streams.add(end);
      request.raw.on('close', end);
      try {
        // Fails here, before any byte is sent, on a bad or expired revision or a full server: a plain HTTP error.
        const events = await service.watchUsers({
          afterRevision: afterRevision(request.headers['last-event-id'], request.query.after_revision),
          userIds: new Set(ids),
          signal: stop.signal,
          principal: request.principal,
        });
        const raw = reply.hijack().raw;
        // HTTP/2 forbids connection-specific headers; HTTP/1.1 keeps the connection for the stream.
        raw.writeHead(200, request.raw.httpVersionMajor >= 2 ? HEADERS : { ...HEADERS, connection: 'keep-alive' });
        raw.write(': watching\n\n');
        const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), options.heartbeatMs);
        try {
          for await (const event of events) {
            const room = raw.write(formatEvent(event));
            options.streams.delivered++;
            if (!room) await once(raw, 'drain', { signal: stop.signal }).catch(() => undefined);
          }
        } catch (error) {
          // Headers are gone: say it as an SSE event, then close.
          request.log.warn({ err: error }, 'event stream ended by an error');
          raw.write(errorEvent(error));
        } finally {
          clearInterval(heartbeat);
          raw.end();
        }
      } finally {
        release();
        request.raw.off('close', end);
      }
    },
  );

  app.head('/users/events', { schema: { hide: true } }, async (_request, reply) => {
    if (options.streams.closing) throw unavailable('the server is shutting down');
    return reply.code(200).headers(HEADERS).send();
  });
}

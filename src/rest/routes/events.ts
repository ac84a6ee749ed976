import type {} from '@fastify/swagger';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { DomainError, ErrorCode, invalidArgument, unavailable } from '../../domain/errors.js';
import { bookmarksOf } from '../../contract/consistency.js';
import type { UserService } from '../../domain/user-service.js';
import { isBookmark, type WatchEvent } from '../../domain/user.js';
import { toErrorResponse } from '../errors.js';
import { SSE_BOOKMARK, SSE_EVENT_NAME, userToJson } from '../representation.js';
import type { OpenStreams } from '../streams.js';
import { BEARER, bookmarkSchema, errorResponses, eventsQuery } from '../schemas.js';

/**
 * The stream, in the OpenAPI document. OpenAPI 3.1 (what the document is, and what Redocly,
 * openapi-typescript and fastify-swagger read) cannot type an event stream's items; 3.2's `itemSchema`
 * can, but those tools do not take 3.2 yet. So the prose says it, and `x-sse-events` (SSE_EVENTS_DOC)
 * names each event with its data's schema, for tools and readers.
 */
const SSE_DESCRIPTION =
  'A text/event-stream of changes. Each event: `id:` its revision (strictly increasing across all users), ' +
  '`event:` created, updated or deleted, `data:` the user as JSON (the User schema; as it was just before, for ' +
  'deleted). A reconnecting client sends Last-Event-ID (an EventSource does) and gets exactly what it missed. ' +
  "While the stream sends no change (the server's bookmark interval), an `event: bookmark` says how far it has " +
  'read: `id:` and `data:` (`{"revision": "<digits>"}`) carry the revision, so a resume after it misses nothing and stays ' +
  "within the change log's retention; `bookmarks=false` turns them off. " +
  'When the server ends the stream (shutdown, a watcher too far behind the log, a token that expired while the ' +
  'stream was open) it first sends an `event: error` whose data is the Error body, then the stream ends. ' +
  'Comment lines (`: heartbeat`) keep idle streams open.';

/** Each event of the stream and the schema of its `data:`, as the document's `x-sse-events`. */
export const SSE_EVENTS_DOC = {
  ...Object.fromEntries(Object.values(SSE_EVENT_NAME).map((name) => [name, { $ref: '#/components/schemas/User' }])),
  [SSE_BOOKMARK]: bookmarkSchema,
  error: { $ref: '#/components/schemas/Error' },
};

/** One SSE message: `id` is the revision, so EventSource's Last-Event-ID resumes exactly (after a bookmark too). */
export function formatEvent(event: WatchEvent): string {
  if (isBookmark(event))
    return `id: ${event.revision}\nevent: ${SSE_BOOKMARK}\ndata: {"revision":"${event.revision}"}\n\n`;
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

/** What a stream ended by shutdown is told (the same code gRPC and Connect end their watches with). */
const shuttingDown = () =>
  unavailable('the server is shutting down: resume after your last revision (Last-Event-ID), here or elsewhere');

/** An error after the stream began, as an SSE event in the documented body (never a raw message). */
export function errorEvent(error: unknown): string {
  const { body } = toErrorResponse(error);
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}

export function eventRoutes(app: FastifyInstance, service: UserService, options: EventsOptions): void {
  app.get<{ Querystring: { user_ids?: string; after_revision?: number; bookmarks?: boolean } }>(
    '/users/events',
    {
      // HEAD answers the stream's headers and ends; it starts no watch.
      exposeHeadRoute: false,
      schema: {
        operationId: 'watchUsers',
        tags: ['events'],
        summary: 'Server-Sent Events of user changes (created, updated, deleted); resumable with Last-Event-ID',
        security: [...BEARER, { accessToken: [] }],
        querystring: eventsQuery,
        headers: {
          type: 'object',
          properties: {
            'last-event-id': {
              type: 'string',
              description:
                'The `id` of the last event received: the stream resumes after it (wins over after_revision).',
            },
          },
        },
        response: {
          200: {
            description: SSE_DESCRIPTION,
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...errorResponses(400, 410),
        },
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
          ...bookmarksOf(request.query),
        });
        const raw = reply.hijack().raw;
        // HTTP/2 forbids connection-specific headers; HTTP/1.1 keeps the connection for the stream.
        raw.writeHead(200, request.raw.httpVersionMajor >= 2 ? HEADERS : { ...HEADERS, connection: 'keep-alive' });
        raw.write(': watching\n\n');
        const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), options.heartbeatMs);
        try {
          for await (const event of events) {
            const room = raw.write(formatEvent(event));
            if (!isBookmark(event)) options.streams.delivered++;
            if (!room) await once(raw, 'drain', { signal: stop.signal }).catch(() => undefined);
          }
          // Ended by shutdown (not by the client): say why, so that an EventSource resumes elsewhere.
          if (options.streams.closing && !request.raw.destroyed) raw.write(errorEvent(shuttingDown()));
        } catch (error) {
          // Headers are gone: say it as an SSE event, then close. A client's own end (its token
          // expired, it read too slowly) is no fault of the server's: no stack in the log.
          if (error instanceof DomainError && error.code !== ErrorCode.INTERNAL) {
            request.log.info({ code: error.code }, 'event stream ended: %s', error.message);
          } else request.log.warn({ err: error }, 'event stream ended by an error');
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

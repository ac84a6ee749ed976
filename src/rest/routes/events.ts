import type {} from '@fastify/swagger';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { invalidArgument } from '../../domain/errors.js';
import type { UserService } from '../../domain/user-service.js';
import type { EventType, UserEvent } from '../../domain/user.js';
import { userToJson } from '../representation.js';
import { errorResponses, eventsQuery } from '../schemas.js';

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
  /** Aborts on server shutdown: open streams end so the server can drain. */
  shutdown: AbortSignal;
}

export function eventRoutes(app: FastifyInstance, service: UserService, options: EventsOptions): void {
  app.get<{ Querystring: { user_ids?: string; after_revision?: number } }>(
    '/users/events',
    {
      schema: {
        summary: 'Server-Sent Events of user changes (created, updated, deleted); resumable with Last-Event-ID',
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
      request.raw.on('close', end);
      options.shutdown.addEventListener('abort', end, { once: true });
      // Fails here, before any byte is sent, on a bad or expired revision: a plain HTTP error.
      const events = await service.watchUsers({
        afterRevision: afterRevision(request.headers['last-event-id'], request.query.after_revision),
        userIds: new Set(ids),
        signal: stop.signal,
      });
      const raw = reply.hijack().raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': watching\n\n');
      const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), options.heartbeatMs);
      try {
        for await (const event of events) {
          if (!raw.write(formatEvent(event))) await once(raw, 'drain', { signal: stop.signal }).catch(() => undefined);
        }
      } catch (error) {
        // Headers are gone: say it as an SSE event, then close.
        request.log.warn({ err: error }, 'event stream ended by an error');
        raw.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
      } finally {
        clearInterval(heartbeat);
        request.raw.off('close', end);
        options.shutdown.removeEventListener('abort', end);
        raw.end();
      }
    },
  );
}

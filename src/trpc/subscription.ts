// users.events: the change feed as a tRPC subscription over Server-Sent Events. Each event is
// `tracked` with its revision, so tRPC's reconnect (Last-Event-ID, or `lastEventId` in the input)
// resumes after the last event the client had: no gap, no duplicate. Bookmarks are tracked too: a
// resume after one misses nothing. Shutdown ends every subscription with UNAVAILABLE (an error event
// the client reads), and the client resumes elsewhere from its last revision.
import { type TrackedEnvelope, tracked } from '@trpc/server';
import { holdOpen } from '../contract/hold-open.js';
import { bookmarksOf } from '../contract/consistency.js';
import type { HostedSseOptions } from '../contract/hosted-rpc.js';
import { unavailable } from '../domain/errors.js';
import { type UserService, watchMore } from '../domain/user-service.js';
import { isBookmark } from '../domain/user.js';
import { type Call, failed, RPC_OK } from './call.js';
import type { EventsRequest } from './input.js';
import { type EventJson, eventToJson } from './representation.js';

export type SubscriptionOptions = Pick<HostedSseOptions, 'idleTimeoutMs' | 'endless'>;

/** The events `request` asks for, until the client leaves or shutdown begins; reported as one call. */
export async function* userEvents(
  service: UserService,
  options: SubscriptionOptions,
  call: Call,
  request: EventsRequest,
): AsyncGenerator<TrackedEnvelope<EventJson>> {
  let sent = 0;
  const stop = new AbortController();
  let shutdown = false;
  const end = () => stop.abort();
  let release: () => void = () => undefined;
  let releaseConnection: () => void = () => undefined;
  try {
    release = options.endless.add(() => {
      shutdown = true;
      stop.abort();
    });
    releaseConnection = holdOpen(call.request.raw, options.idleTimeoutMs);
    // tRPC aborts the call's signal when the client leaves (its stream is cancelled).
    call.signal.addEventListener('abort', end, { once: true });
    const userIds = new Set<string>();
    watchMore(userIds, request.userIds);
    const events = await service.watchUsers({
      afterRevision: request.afterRevision,
      userIds,
      signal: stop.signal,
      principal: call.principal,
      ...bookmarksOf(request),
    });
    for await (const event of events) {
      yield tracked(String(event.revision), eventToJson(event));
      sent++;
      if (!isBookmark(event)) options.endless.delivered++;
    }
    if (shutdown) throw unavailable('the server is shutting down');
    call.observed?.end(call.signal.aborted ? 'CANCELLED' : RPC_OK, sent);
  } catch (error) {
    failed(call.observed, error, call.signal, sent);
    throw error;
  } finally {
    call.signal.removeEventListener('abort', end);
    release();
    releaseConnection();
    // Left before the end: the client went away.
    call.observed?.end('CANCELLED', sent);
  }
}

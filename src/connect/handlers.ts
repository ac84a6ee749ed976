// users.v1.UserService for ConnectRPC (Connect and gRPC-Web): protobuf-es in, domain call,
// protobuf-es out. Errors leave as DomainErrors; the interceptor (routes.ts) turns them into the
// protocol's own, so every handler here is only the translation.
import { create } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createContextKey, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  eventToMessage,
  newUserFromMessage,
  revisionFromMessage,
  roleFromMessage,
  userToMessage,
} from '../contract/users-es.js';
import { bookmarksOf, conditionOf, onlyInFirstRequest, requestIdOf, REVISION_HEADER } from '../contract/consistency.js';
import type { EndlessCalls } from '../contract/endless-calls.js';
import { updateFromMask } from '../contract/users.js';
import type { Principal } from '../domain/access.js';
import { NewUsersBatch } from '../domain/batch.js';
import { asDomainError, cancelled, deadlineExceeded, unavailable } from '../domain/errors.js';
import type { CallContext } from '../domain/ports.js';
import { type IdempotencyKey, type UserService, watchMore } from '../domain/user-service.js';
import { isBookmark, type WatchEvent } from '../domain/user.js';
import { CreateUsersResponseSchema, type UserService as UserServiceDesc } from '../gen/users/v1/users_pb.js';

/** What a watch's opening request (WatchUsersRequest's first, SubscribeUsersRequest) says of where it starts and what it gets. */
type OpeningRequest = { afterRevision?: bigint; bookmarks?: boolean };

/** Who makes the call: set by the interceptor once the access gate admitted it. */
export const PRINCIPAL = createContextKey<Principal | undefined>(undefined, { description: 'principal' });

/**
 * Keeps the call's connection open however quiet it is, until the returned release: set by the
 * interceptor, which knows the connection; by default nothing to hold.
 */
export const HOLD_OPEN = createContextKey<() => () => void>(() => () => undefined, { description: 'hold open' });

export interface HandlerOptions {
  /** The longest a unary call's work may take, whatever the client's timeout (as REST's request timeout). */
  requestTimeoutMs: number;
  endless: EndlessCalls;
}

/** ConnectRPC aborts a call's signal at the client's deadline too. */
const isDeadline = (reason: unknown) => reason instanceof ConnectError && reason.code === Code.DeadlineExceeded;

/**
 * The domain's signal means "the caller left" (CANCELLED); a deadline is the deadline's to say
 * (DEADLINE_EXCEEDED). A call with a timeout gets a signal that its deadline does not abort.
 */
function callerLeft(ctx: HandlerContext): AbortSignal {
  if (ctx.timeoutMs() === undefined) return ctx.signal;
  const left = new AbortController();
  const abort = () => {
    if (!isDeadline(ctx.signal.reason)) left.abort();
  };
  if (ctx.signal.aborted) abort();
  else ctx.signal.addEventListener('abort', abort, { once: true });
  return left.signal;
}

/** Who asks and until when: the client's timeout (`connect-timeout-ms`, `grpc-timeout`), capped for unary calls. */
function contextOf(ctx: HandlerContext, capMs?: number): CallContext {
  const timeouts = [ctx.timeoutMs(), capMs].filter((ms): ms is number => ms !== undefined);
  const principal = ctx.values.get(PRINCIPAL);
  return {
    signal: callerLeft(ctx),
    ...(timeouts.length > 0 ? { deadline: Date.now() + Math.min(...timeouts) } : {}),
    ...(principal ? { principal } : {}),
  };
}

export function userServiceImpl(service: UserService, options: HandlerOptions): ServiceImpl<typeof UserServiceDesc> {
  const unary = (ctx: HandlerContext) => contextOf(ctx, options.requestTimeoutMs);

  /** Opens the domain's watch of `userIds` for this call's caller, as the (first) request asks. */
  const watchOf =
    (ctx: HandlerContext, request: OpeningRequest, userIds: ReadonlySet<string>) => (signal: AbortSignal) =>
      service.watchUsers({
        afterRevision: revisionFromMessage(request.afterRevision),
        userIds,
        signal,
        principal: ctx.values.get(PRINCIPAL),
        ...bookmarksOf(request),
      });

  /**
   * The events of a watch, until the client leaves, `until` aborts, or shutdown begins (then it
   * ends with UNAVAILABLE, and the client resumes from its last revision).
   */
  async function* endless(
    ctx: HandlerContext,
    open: (signal: AbortSignal) => Promise<AsyncIterable<WatchEvent>>,
    until?: AbortSignal,
  ): AsyncGenerator<ReturnType<typeof eventToMessage>> {
    const stop = new AbortController();
    let shutdown = false;
    const release = options.endless.add(() => {
      shutdown = true;
      stop.abort();
    });
    const releaseConnection = ctx.values.get(HOLD_OPEN)();
    const end = () => stop.abort();
    const signals = until ? [ctx.signal, until] : [ctx.signal];
    for (const signal of signals) signal.addEventListener('abort', end, { once: true });
    try {
      for await (const event of await open(stop.signal)) {
        yield eventToMessage(event);
        if (!isBookmark(event)) options.endless.delivered++;
      }
      if (shutdown) throw unavailable('the server is shutting down');
      // Ended by the client's deadline, or by the client leaving: said as such, not as a clean end.
      if (ctx.signal.aborted) throw isDeadline(ctx.signal.reason) ? deadlineExceeded() : cancelled();
    } finally {
      for (const signal of signals) signal.removeEventListener('abort', end);
      release();
      releaseConnection();
    }
  }

  return {
    getUser: async (request, ctx) => userToMessage(await service.getUser(request.id, unary(ctx))),
    createUser: async (request, ctx) =>
      userToMessage(await service.createUser(newUserFromMessage(request), unary(ctx), requestIdOf(request))),
    updateUser: async ({ user, updateMask, etag }, ctx) =>
      userToMessage(
        await service.updateUser(
          user?.id ?? '',
          updateFromMask(user && { ...user, role: roleFromMessage(user.role) }, updateMask?.paths ?? []),
          unary(ctx),
          conditionOf(etag, 'etag'),
        ),
      ),
    deleteUser: async (request, ctx) => {
      await service.deleteUser(request.id, unary(ctx), conditionOf(request.etag, 'etag'));
      return create(EmptySchema);
    },

    async *listUsers({ filter, pageSize, pageToken: first }, ctx) {
      const context = contextOf(ctx);
      let pageToken = first;
      do {
        const page = await service.listUsers({ filter, pageSize, pageToken }, context);
        // Sent with the first message (or the end): the first page's revision, as on gRPC.
        if (pageToken === first) ctx.responseHeader.set(REVISION_HEADER, String(page.revision));
        for (const user of page.users) yield userToMessage(user);
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
    },

    async createUsers(requests, ctx) {
      const context = contextOf(ctx);
      const batch = new NewUsersBatch();
      // The first request's request_id names the whole batch (see users.proto).
      let key: IdempotencyKey | undefined;
      // Checked as each arrives: a hopeless batch is refused before the rest is read.
      for await (const request of requests) {
        if (batch.size === 0) key = requestIdOf(request);
        batch.add(newUserFromMessage(request));
      }
      if (ctx.signal.aborted) throw cancelled();
      const users = await service.createBatch(batch, context, key);
      return create(CreateUsersResponseSchema, { users: users.map(userToMessage), createdCount: users.length });
    },

    // As on gRPC: each request adds users; only the first may resume; a half-close is not a stop.
    async *watchUsers(requests, ctx) {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done === true) return;
      const userIds = new Set<string>();
      watchMore(userIds, first.value.userIds);
      let requestError: Error | undefined;
      const requestFailed = new AbortController();
      // Later requests widen the set while events flow; a bad one ends the watch with its error.
      const readMore = async () => {
        for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
          onlyInFirstRequest(next.value);
          watchMore(userIds, next.value.userIds);
        }
      };
      const open = async (signal: AbortSignal) => {
        const events = await watchOf(ctx, first.value, userIds)(signal);
        readMore().catch((error: unknown) => {
          requestError = error instanceof Error ? error : asDomainError(error);
          requestFailed.abort();
        });
        return events;
      };
      yield* endless(ctx, open, requestFailed.signal);
      if (requestError !== undefined && !ctx.signal.aborted) throw requestError;
    },

    async *subscribeUsers(request, ctx) {
      const watching = new Set<string>();
      watchMore(watching, request.userIds);
      yield* endless(ctx, watchOf(ctx, request, watching));
    },
  };
}

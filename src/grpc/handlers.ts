import type { PeerCertificate } from 'node:tls';
import {
  type Deadline,
  Metadata,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { bookmarksOf, conditionOf, onlyInFirstRequest, requestIdOf, REVISION_HEADER } from '../contract/consistency.js';
import {
  bookmarkToProto,
  eventToProto,
  newUserFromProto,
  roleFromProto,
  updateFromMask,
  userToProto,
} from '../contract/users.js';
import { asDomainError, cancelled, DomainError, ErrorCode } from '../domain/errors.js';
import type { Principal } from '../domain/access.js';
import { NewUsersBatch } from '../domain/batch.js';
import type { CallContext } from '../domain/ports.js';
import { type IdempotencyKey, type UserService, watchMore } from '../domain/user-service.js';
import {
  isBookmark,
  type User as DomainUser,
  type UserEvent as DomainUserEvent,
  type WatchEvent,
} from '../domain/user.js';
import type { RepresentationCache } from '../contract/representations.js';
import type {
  CreateUserRequest,
  CreateUsersResponse,
  DeleteUserRequest,
  GetUserRequest,
  ListUsersRequest,
  SubscribeUsersRequest,
  UpdateUserRequest,
  User,
  UserEvent,
  WatchUsersRequest,
} from '../gen/users/v1/users.js';
import type { Empty } from '../gen/google/protobuf/empty.js';
import { MalformedMessage, sentByMany } from './definition.js';
import { toStatus } from './errors.js';

/** What the server reads of any incoming call to admit it: its metadata, peer and TLS identity. */
export interface IncomingCall {
  metadata: Metadata;
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

export interface CallHooks {
  /**
   * A call started: returns the signal that ends it and a release. The signal
   * aborts without a reason when the client cancels or the deadline passes,
   * and, for `endless` calls, with an UNAVAILABLE DomainError on shutdown.
   */
  begin(
    call: {
      on(event: 'cancelled', listener: () => void): unknown;
      removeListener(event: 'cancelled', listener: () => void): unknown;
    },
    options: { endless: boolean },
  ): CallScope;
  /** An error that is not the client's fault, in `call`. */
  onInternalError(error: unknown, method: string, call: IncomingCall): void;
  /** A WatchUsers stream wrote an event. */
  onEventDelivered(): void;
  /** Who makes the call, if it may run now (UNAUTHENTICATED, RATE_LIMITED, OVERLOADED otherwise). */
  admit: (call: IncomingCall) => Principal | Promise<Principal>;
}

type AnyCall = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

/** One streaming call's life: its signal, its end, and its waits for a client that reads slowly. */
export interface CallScope {
  signal: AbortSignal;
  done: () => void;
  /** Resolves once the client has read enough to write again, or `signal` (default: the call's) aborts. */
  drained(call: AnyCall, signal?: AbortSignal): Promise<unknown>;
}

/**
 * The handlers of users.v1.UserService: protobuf in, domain call, protobuf or status out. The users
 * they send are messages kept per user version in `representations`, each encoded at its first send
 * and its bytes reused (definition.ts `sentByMany`).
 */
export function userServiceHandlers(
  service: UserService,
  representations: RepresentationCache<User>,
  hooks: CallHooks,
): UntypedServiceImplementation {
  const message = (user: DomainUser) => representations.get(user, 'proto', () => sentByMany(userToProto(user)));
  const fail = (method: string, error: unknown, call: IncomingCall) => {
    const domainError = asDomainError(error);
    if (domainError.code === ErrorCode.INTERNAL) hooks.onInternalError(error, method, call);
    return toStatus(domainError);
  };

  // A unary call is one short domain call that cannot stop half-way, so it needs no cancellation
  // signal: setting one up per call cost more than the SQLite lookup behind GetUser.
  function unary<Req, Res>(method: string, run: (request: Req, context: CallContext) => Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      // Through a promise, so a synchronous throw becomes a status too.
      Promise.resolve(call)
        .then((incoming) => hooks.admit(incoming))
        .then((principal) => run(decoded(call.request), contextOf(call, principal)))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(fail(method, error, call)),
        );
    };
  }

  /** Who makes the call, once admitted: through a promise, so a refusal becomes a status. */
  const admitted = async (call: IncomingCall) => hooks.admit(call);

  /**
   * A server-streaming call: `work` writes under the call's signal; the call ends OK when it is
   * done, or with its error's status (a cancelled call is left as the client left it).
   */
  function streaming<C extends AnyCall>(
    method: string,
    endless: boolean,
    work: (call: C, scope: CallScope, principal: Principal) => Promise<void>,
  ) {
    return (call: C) => {
      const scope = hooks.begin(call, { endless });
      admitted(call)
        .then((principal) => work(call, scope, principal))
        .then(
          () => call.end(),
          (error: unknown) => {
            if (!call.cancelled) call.emit('error', fail(method, error, call));
          },
        )
        .finally(scope.done);
    };
  }

  return {
    getUser: unary<GetUserRequest, User>('GetUser', async (request, context) =>
      message(await service.getUser(request.id, context)),
    ),
    createUser: unary<CreateUserRequest, User>('CreateUser', async (request, context) =>
      message(await service.createUser(newUserFromProto(request), context, requestIdOf(request))),
    ),
    updateUser: unary<UpdateUserRequest, User>('UpdateUser', async (request, context) =>
      message(
        await service.updateUser(
          request.user?.id ?? '',
          updateFromMask(
            request.user && { ...request.user, role: roleFromProto(request.user.role) },
            request.updateMask ?? [],
          ),
          context,
          conditionOf(request.etag, 'etag'),
        ),
      ),
    ),
    deleteUser: unary<DeleteUserRequest, Empty>('DeleteUser', async (request, context) => {
      await service.deleteUser(request.id, context, conditionOf(request.etag, 'etag'));
      return {};
    }),

    listUsers: streaming('ListUsers', false, (call: ServerWritableStream<ListUsersRequest, User>, scope, principal) =>
      streamList(service, call, scope, contextOf(call, principal), message),
    ),

    createUsers(
      call: ServerReadableStream<CreateUserRequest, CreateUsersResponse>,
      callback: sendUnaryData<CreateUsersResponse>,
    ) {
      const scope = hooks.begin(call, { endless: false });
      admitted(call)
        .then(async (principal) => {
          const { batch, key } = await collect(call, scope.signal);
          return service.createBatch(batch, { ...contextOf(call, principal), signal: scope.signal }, key);
        })
        .then(
          (users) => callback(null, { users: users.map(userToProto), createdCount: users.length }),
          (error: unknown) => callback(fail('CreateUsers', error, call)),
        )
        .finally(scope.done);
    },

    // Endless: shutdown ends it with UNAVAILABLE instead of waiting for it.
    watchUsers: streaming(
      'WatchUsers',
      true,
      (call: ServerDuplexStream<WatchUsersRequest, UserEvent>, scope, principal) =>
        streamWatch(service, call, scope, principal, () => hooks.onEventDelivered()),
    ),

    subscribeUsers: streaming(
      'SubscribeUsers',
      true,
      (call: ServerWritableStream<SubscribeUsersRequest, UserEvent>, scope, principal) =>
        streamSubscription(service, call, scope, principal, () => hooks.onEventDelivered()),
    ),
  };
}

const eventMessages = new WeakMap<DomainUserEvent, UserEvent>();

/**
 * A change as one message for every watcher it reaches, so that its bytes are encoded once, not per
 * watcher; a bookmark is one watcher's own.
 */
function eventMessage(event: WatchEvent): UserEvent {
  if (isBookmark(event)) return bookmarkToProto(event);
  let message = eventMessages.get(event);
  if (!message) eventMessages.set(event, (message = sentByMany(eventToProto(event))));
  return message;
}

/** Who makes the call, and its deadline (which bounds its database work too). */
function contextOf(call: { getDeadline(): Deadline }, principal: Principal): CallContext {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? { deadline: ms, principal } : { principal };
}

/** Response metadata naming the change-log revision a listing reflects. */
function revisionMetadata(revision: number): Metadata {
  const metadata = new Metadata();
  metadata.set(REVISION_HEADER, String(revision));
  return metadata;
}

/** Pages through the store, writing each user; waits while the client's buffer is full. */
async function streamList(
  service: UserService,
  call: ServerWritableStream<ListUsersRequest, User>,
  scope: CallScope,
  context: CallContext,
  message: (user: DomainUser) => User,
) {
  const { signal } = scope;
  const { filter, pageSize, pageToken: first } = decoded(call.request);
  let pageToken = first;
  do {
    const page = await service.listUsers({ filter, pageSize, pageToken }, context);
    // The first page's revision, before any user: watching after it misses nothing the stream
    // does not show (a later page may show a change the watch then repeats: its revision tells).
    if (pageToken === first) call.sendMetadata(revisionMetadata(page.revision));
    for (const user of page.users) {
      if (signal.aborted) return;
      if (!call.write(message(user))) await scope.drained(call);
    }
    pageToken = page.nextPageToken;
  } while (pageToken !== '' && !signal.aborted);
}

/**
 * Reads a client stream to its end, refusing more items than a batch may hold.
 * A client that cancels meanwhile ends it with CANCELLED (its own doing, not a server fault).
 */
function collect(
  call: ServerReadableStream<CreateUserRequest, unknown>,
  signal: AbortSignal,
): Promise<{ batch: NewUsersBatch; key: IdempotencyKey | undefined }> {
  return new Promise((resolve, reject) => {
    // The first request's request_id names the whole batch (see users.proto).
    let key: IdempotencyKey | undefined;
    // The client may have gone while the call was being admitted: a listener added now would never hear it.
    if (signal.aborted) return reject(cancelled());
    signal.addEventListener('abort', () => reject(cancelled()), { once: true });
    const batch = new NewUsersBatch();
    call.on('data', (request: CreateUserRequest | MalformedMessage) => {
      try {
        // Checked as it arrives: only checked users are kept, and a hopeless batch is refused at once.
        const item = decoded(request);
        if (batch.size === 0) key = requestIdOf(item);
        batch.add(newUserFromProto(item));
      } catch (error) {
        call.removeAllListeners('data');
        call.pause();
        reject(asDomainError(error));
      }
    });
    // A client's reset also ends the request stream: a cut-off batch is never taken for a whole one.
    call.on('end', () => (signal.aborted ? reject(cancelled()) : resolve({ batch, key })));
    call.on('error', (error) => reject(signal.aborted ? cancelled() : error));
  });
}

/** A request as decoded; a MalformedMessage is the client's error (INVALID_ARGUMENT). */
function decoded<T>(request: T | MalformedMessage): T {
  if (request instanceof MalformedMessage) throw request.toError();
  return request;
}

/**
 * Each request adds user ids to the watch set; the first may resume after a revision. A half-close
 * means "no more requests", not "stop": the watch goes on until the client cancels, the deadline
 * passes or the server shuts down (UNAVAILABLE, resumable). A client that half-closes before its
 * first request asked for nothing: the call ends OK at once.
 */
async function streamWatch(
  service: UserService,
  call: ServerDuplexStream<WatchUsersRequest, UserEvent>,
  scope: CallScope,
  principal: Principal,
  onDelivered: () => void,
) {
  const { signal } = scope;
  const watching = new AbortController();
  let protocolError: DomainError | undefined;
  const stop = (error?: DomainError) => {
    protocolError ??= error;
    watching.abort();
  };
  const cancelled = () => stop();
  if (endedWhileAdmitted(signal)) return;
  signal.addEventListener('abort', cancelled, { once: true });
  const userIds = new Set<string>();
  let opened = false;
  const firstRequest = new Promise<WatchUsersRequest | undefined>((resolve) => {
    call.on('end', () => resolve(undefined));
    call.on('data', (message: WatchUsersRequest | MalformedMessage) => {
      try {
        const request = decoded(message);
        if (opened) onlyInFirstRequest(request);
        watchMore(userIds, request.userIds);
        if (!opened) resolve(request);
        opened = true;
      } catch (error) {
        stop(asDomainError(error));
        resolve(undefined);
      }
    });
  });
  try {
    // Set by the request handlers, which run between the awaits here.
    const throwRequestError = () => {
      const error: DomainError | undefined = protocolError;
      if (error) throw error;
    };
    const opening = await firstRequest;
    throwRequestError();
    if (!opening) return;
    const events = await service.watchUsers({
      afterRevision: opening.afterRevision,
      userIds,
      signal: watching.signal,
      principal,
      ...bookmarksOf(opening),
    });
    for await (const event of events) {
      const room = call.write(eventMessage(event));
      if (!isBookmark(event)) onDelivered();
      if (!room) await scope.drained(call, watching.signal);
    }
    throwRequestError();
    if (signal.reason instanceof DomainError) throw signal.reason;
  } finally {
    signal.removeEventListener('abort', cancelled);
  }
}

/**
 * A watch aborted while the call was being admitted: the client went (true: nothing to say), or
 * shutdown began (its UNAVAILABLE is thrown).
 */
function endedWhileAdmitted(signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  if (signal.reason instanceof DomainError) throw signal.reason;
  return true;
}

/** WatchUsers with its one request up front: the same events, until cancel, deadline or shutdown. */
async function streamSubscription(
  service: UserService,
  call: ServerWritableStream<SubscribeUsersRequest, UserEvent>,
  scope: CallScope,
  principal: Principal,
  onDelivered: () => void,
) {
  const { signal } = scope;
  if (endedWhileAdmitted(signal)) return;
  const request = decoded(call.request);
  const watching = new Set<string>();
  watchMore(watching, request.userIds);
  const { afterRevision } = request;
  const events = await service.watchUsers({
    afterRevision,
    userIds: watching,
    signal,
    principal,
    ...bookmarksOf(request),
  });
  for await (const event of events) {
    const room = call.write(eventMessage(event));
    if (!isBookmark(event)) onDelivered();
    if (!room) await scope.drained(call);
  }
  if (signal.reason instanceof DomainError) throw signal.reason;
}

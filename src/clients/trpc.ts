// UsersApi over tRPC (/trpc), by @trpc/client typed by the server's router: queries and mutations
// batched over HTTP (httpBatchLink), the change feed as the users.events subscription over SSE
// (httpSubscriptionLink, on the `eventsource` package: Node has no EventSource of its own).
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { UsersRouter } from '../trpc/router.js';
import type { EventJson, UserJson } from '../trpc/representation.js';
import { clientEvent, ClientError, type ClientEvent, type ClientUser, type UsersApi } from './users-api.js';

export interface TrpcClientOptions {
  baseUrl: string;
  token?: string;
}

/** Reconnects a subscription tries (tRPC resumes each after its last event) before the watch fails. */
const MAX_RECONNECTS = 5;

/** Calls one request may batch: the server's TRPC_MAX_BATCH (src/trpc/routes.ts). */
const MAX_BATCH = 100;

/** Longest batched GET URL the client makes (longer batches are split): within any server's header limits. */
const MAX_URL_LENGTH = 4096;

/** A tRPC error the server sent, as a ClientError: our code from `data.errorType`, tRPC's code as the status. */
export function trpcError(error: unknown): ClientError | undefined {
  if (!(error instanceof TRPCClientError)) return undefined;
  const data = (error as TRPCClientError<UsersRouter>).data;
  if (typeof data?.errorType !== 'string') return undefined;
  return new ClientError(data.errorType, data.code, data.violations ?? [], data.metadata ?? {}, error.message);
}

/** fetch's own failure (no server answered) out of tRPC's wrapping: the same error REST's client throws. */
const unreached = (error: unknown): unknown =>
  error instanceof TRPCClientError && error.data === undefined && error.cause instanceof TypeError
    ? error.cause
    : error;

const fromJson = (user: UserJson): ClientUser => ({ ...user, revision: Number(user.revision) });

const fromEventJson = (event: EventJson): ClientEvent | undefined =>
  clientEvent(event.type, Number(event.revision), () => fromJson((event as { user: UserJson }).user));

export function trpcUsersApi({ baseUrl, token }: TrpcClientOptions): UsersApi {
  const url = `${baseUrl.replace(/\/$/, '')}/trpc`;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  /** The last failure of the subscription's own fetch: what its EventSource's error event cannot carry. */
  let fetchFailure: unknown;
  const client = createTRPCClient<UsersRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource,
          // Headers go through the package's fetch option (a browser's EventSource can send none).
          eventSourceOptions: {
            fetch: async (input, init) => {
              try {
                return await fetch(input, { ...init, headers: { ...init?.headers, ...headers } });
              } catch (error) {
                fetchFailure = error;
                throw error;
              }
            },
          },
        }),
        false: httpBatchLink({ url, headers, maxItems: MAX_BATCH, maxURLLength: MAX_URL_LENGTH }),
      }),
    ],
  });
  const call = async <T>(promise: Promise<T>): Promise<T> => {
    try {
      return await promise;
    } catch (error) {
      throw trpcError(error) ?? unreached(error);
    }
  };
  const page = (filter: string | undefined, pageToken: string) =>
    call(client.users.list.query({ ...(filter === undefined ? {} : { filter }), pageToken, pageSize: 500 }));
  return {
    protocol: 'trpc',
    createUser: async (input, options) =>
      fromJson(await call(client.users.create.mutate({ ...input, requestId: options?.idempotencyKey }))),
    getUser: async (id) => fromJson(await call(client.users.get.query({ id }))),
    updateUser: async (id, changes, options) =>
      fromJson(await call(client.users.update.mutate({ id, ...changes, etag: options?.ifMatch }))),
    deleteUser: async (id, options) => {
      await call(client.users.delete.mutate({ id, etag: options?.ifMatch }));
    },
    createUsers: async (inputs, options) =>
      (await call(client.users.createMany.mutate({ users: inputs, requestId: options?.idempotencyKey }))).users.map(
        fromJson,
      ),
    async listing(filter) {
      const users: ClientUser[] = [];
      let revision: number | undefined;
      let pageToken = '';
      do {
        const next = await page(filter, pageToken);
        revision ??= Number(next.revision);
        users.push(...next.users.map(fromJson));
        pageToken = next.nextPageToken;
      } while (pageToken !== '');
      return { users, revision };
    },
    async *listUsers(filter) {
      let pageToken = '';
      do {
        const next = await page(filter, pageToken);
        yield* next.users.map(fromJson);
        pageToken = next.nextPageToken;
      } while (pageToken !== '');
    },
    async *watch({ afterRevision, userIds, bookmarks, signal }) {
      const input = {
        ...(afterRevision === undefined ? {} : { afterRevision: String(afterRevision) }),
        ...(userIds === undefined || userIds.length === 0 ? {} : { userIds }),
        ...(bookmarks === undefined ? {} : { bookmarks }),
      };
      let connected = false;
      let reconnects = 0;
      // Ended as soon as it is over (the caller's abort, an error): its EventSource would reconnect on
      // its own, whether the events are read again or not.
      const events = new Events(() => subscription.unsubscribe());
      const subscription = client.users.events.subscribe(input, {
        onData: ({ data }) => {
          const event = fromEventJson(data);
          if (event) events.push(event);
        },
        onError: (error) => events.fail(trpcError(error) ?? failureOf(error)),
        onComplete: () => events.end(),
        onConnectionStateChange: (state) => {
          if (state.state === 'pending') {
            connected = true;
            reconnects = 0;
          }
          if (state.state !== 'connecting' || state.error === null) return;
          // An error the server sent (UNAVAILABLE at shutdown, REVISION_EXPIRED…) ends the watch: tRPC
          // would resume on its own, but a resume cannot fix the cause. A dropped connection is resumed
          // after the last event (no gap), a few times, never forever.
          const sent = trpcError(state.error);
          if (sent) events.fail(sent);
          else if (!connected || ++reconnects > MAX_RECONNECTS) events.fail(failureOf(state.error));
        },
      });
      const stop = () => events.end();
      signal?.addEventListener('abort', stop, { once: true });
      if (signal?.aborted === true) stop();
      try {
        yield* events;
      } finally {
        signal?.removeEventListener('abort', stop);
        events.end();
      }
    },
    close: () => undefined,
  };

  /** A subscription that never reached the server fails as a call does (fetch's own error); else tRPC's. */
  function failureOf(error: unknown): unknown {
    return fetchFailure ?? unreached(error);
  }
}

/** Events pushed by tRPC's observer, read as an async iterable; its end or error after them. */
class Events implements AsyncIterable<ClientEvent> {
  private readonly queue: ClientEvent[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  private error: Error | undefined;

  /** `ended`: runs once, when the events end (however they end). */
  constructor(private readonly ended: () => void) {}

  push(event: ClientEvent): void {
    if (this.done) return;
    this.queue.push(event);
    this.wake?.();
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.ended();
    this.wake?.();
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.error = error instanceof Error ? error : new Error(String(error));
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ClientEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event !== undefined) yield event;
      else if (this.done) break;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.error !== undefined) throw this.error;
  }
}

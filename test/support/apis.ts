// The service as a client sees it, whatever the protocol: the product's neutral clients
// (src/clients), with what a suite needs on top — the status each protocol's table gives a code, and
// watches read a few events at a time — so one behaviour suite (test/behaviour.test.ts) runs
// unchanged against each adapter (the pattern of hono's router `runTest` and connect's conformance cases).
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { status } from '@grpc/grpc-js';
import { connectUsersApi } from '../../src/clients/connect.js';
import { graphqlUsersApi } from '../../src/clients/graphql.js';
import { trpcUsersApi } from '../../src/clients/trpc.js';
import { grpcUsersApi } from '../../src/clients/grpc.js';
import { restUsersApi } from '../../src/clients/rest.js';
import {
  ClientError,
  type ClientChange,
  type ClientEvent,
  type ClientUser,
  type Protocol,
  type UsersApi,
  type WatchRequest,
  type WriteOptions,
} from '../../src/clients/users-api.js';
import { CONNECT_CODE_OF, codeName } from '../../src/connect/errors.js';
import { type ErrorCode } from '../../src/domain/errors.js';
import type { Role } from '../../src/domain/user.js';
import { UserClient } from '../../src/grpc/client.js';
import { GRPC_STATUS_OF } from '../../src/grpc/errors.js';
import { RestClient } from '../../src/rest/client.js';
import { HTTP_STATUS_OF, type RestErrorCode } from '../../src/rest/errors.js';
import { TRPC_CODE_OF } from '../../src/trpc/errors.js';
import { thrown } from './failures.js';
import { take } from './helpers.js';
import type { Stack } from './stack.js';

export type ApiUser = ClientUser;
/** A change: what a watch that asked for no bookmarks reads. */
export type ApiEvent = ClientChange;
export { ClientError as ApiError };

/** A role a client may send: a real one, or one the contract does not have. */
export type ApiRole = Role | 'UNKNOWN';

export interface ApiUserInput {
  name?: string;
  email?: string;
  role?: ApiRole;
  tags?: string[];
}

export interface ApiWatch<E = ApiEvent> {
  /** The next `count` events, failing after `timeoutMs`. */
  take(count: number, timeoutMs?: number): Promise<E[]>;
  /** The error that ends the watch; fails if the watch ends without one. */
  failure(): Promise<ClientError>;
  close(): void;
}

export interface Api {
  readonly name: Protocol;
  /** The status this protocol answers a code with, by its mapping table. */
  statusOf(code: RestErrorCode): string | number;
  /** The client under test, as src/clients makes it. */
  readonly client: UsersApi;
  createUser(input: ApiUserInput, options?: WriteOptions): Promise<ApiUser>;
  getUser(id: string): Promise<ApiUser>;
  /** Changes exactly the fields given. */
  updateUser(id: string, changes: ApiUserInput, options?: WriteOptions): Promise<ApiUser>;
  deleteUser(id: string, options?: WriteOptions): Promise<void>;
  createUsers(inputs: ApiUserInput[], options?: WriteOptions): Promise<ApiUser[]>;
  /** Every matching user, newest first (gRPC: one ListUsers stream; REST: every cursor page). */
  listAll(filter?: string): Promise<ApiUser[]>;
  /** A watch that asks for no bookmarks (and fails if one comes). */
  watch(options: { afterRevision?: number; userIds?: string[] }): ApiWatch;
  /** A watch with the server's bookmarks. */
  watchWithBookmarks(options: { afterRevision?: number; userIds?: string[] }): ApiWatch<ClientEvent>;
}

/** The status of each code on each protocol, by the adapters' own tables. */
const connectStatus = (code: RestErrorCode) =>
  code in CONNECT_CODE_OF ? codeName(CONNECT_CODE_OF[code as ErrorCode]) : 'none';
const STATUS_OF: Record<Protocol, (code: RestErrorCode) => string | number> = {
  grpc: (code) => (code in GRPC_STATUS_OF ? status[GRPC_STATUS_OF[code as ErrorCode]] : 'none'),
  rest: (code) => HTTP_STATUS_OF[code],
  connect: connectStatus,
  'grpc-web': connectStatus,
  // GraphQL says the catalogue code itself, in extensions.code.
  graphql: (code) => code,
  trpc: (code) => (code in TRPC_CODE_OF ? TRPC_CODE_OF[code as ErrorCode] : 'none'),
};

/** A role the contract does not have goes by a name it does not have. */
const input = ({ role, ...fields }: ApiUserInput) => ({
  ...fields,
  ...(role === undefined ? {} : { role: role === 'UNKNOWN' ? 'USER_ROLE_UNKNOWN' : role }),
});

export function testApi(api: UsersApi): Api {
  return {
    name: api.protocol,
    statusOf: STATUS_OF[api.protocol],
    client: api,
    createUser: (fields, options) => api.createUser(input(fields), options),
    getUser: (id) => api.getUser(id),
    updateUser: (id, changes, options) => api.updateUser(id, input(changes), options),
    deleteUser: (id, options) => api.deleteUser(id, options),
    createUsers: (inputs, options) => api.createUsers(inputs.map(input), options),
    async listAll(filter) {
      const users: ApiUser[] = [];
      for await (const user of api.listUsers(filter)) users.push(user);
      return users;
    },
    watch: (options) => openWatch(api, { ...options, bookmarks: false }, changeOnly),
    watchWithBookmarks: (options) => openWatch(api, options, (event) => event),
  };
}

function changeOnly(event: ClientEvent): ClientChange {
  if (event.type === 'EVENT_TYPE_BOOKMARK')
    throw new Error(`a bookmark (${event.revision}) on a watch that asked for none`);
  return event;
}

function openWatch<E>(
  api: UsersApi,
  request: Omit<WatchRequest, 'signal'>,
  read: (event: ClientEvent) => E,
): ApiWatch<E> {
  const stop = new AbortController();
  const iterator = api.watch({ ...request, signal: stop.signal })[Symbol.asyncIterator]();
  // Asked for now, so the watch opens now (as a client that subscribes, then acts, expects).
  let opened: Promise<IteratorResult<ClientEvent>> | undefined = iterator.next();
  opened.catch(() => undefined);
  const events: AsyncIterable<E> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        const next = await (opened ?? iterator.next());
        opened = undefined;
        return next.done === true ? next : { value: read(next.value) };
      },
    }),
  };
  return {
    take: (count, timeoutMs) => take(events, count, timeoutMs),
    async failure() {
      const error = await thrown(take(events, Number.MAX_SAFE_INTEGER, 10_000));
      if (!(error instanceof ClientError)) throw error;
      return error;
    },
    close: () => stop.abort(),
  };
}

export const grpcApi = (client: UserClient): Api => testApi(grpcUsersApi(client));
export const restApi = (client: RestClient): Api => testApi(restUsersApi(client));
export const connectApi = (baseUrl: string, protocol: 'connect' | 'grpc-web', token?: string): Api =>
  testApi(connectUsersApi({ baseUrl, protocol, ...(token ? { token } : {}) }));

export const graphqlApi = (baseUrl: string, token?: string): Api =>
  testApi(graphqlUsersApi({ baseUrl, ...(token ? { token } : {}) }));
export const trpcApi = (baseUrl: string, token?: string): Api =>
  testApi(trpcUsersApi({ baseUrl, ...(token ? { token } : {}) }));

/** Every adapter of a running stack, each as an Api. */
export function apisOf(stack: Stack): Api[] {
  const token = stack.restClient.token;
  return [
    grpcApi(stack.client),
    restApi(stack.restClient),
    connectApi(stack.baseUrl, 'connect', token),
    connectApi(stack.baseUrl, 'grpc-web', token),
    graphqlApi(stack.baseUrl, token),
    trpcApi(stack.baseUrl, token),
  ];
}

/** The Api of `protocol` on a running stack, calling with `token` or none (new clients, closed after the test file). */
export function apiWithToken(stack: Stack, protocol: Protocol, token: string | undefined): Api {
  if (protocol === 'grpc') {
    const client = new UserClient({ address: stack.address, defaultDeadlineMs: 10_000, ...(token ? { token } : {}) });
    after(() => client.close());
    return grpcApi(client);
  }
  if (protocol === 'rest') return restApi(new RestClient(stack.baseUrl, token));
  if (protocol === 'graphql') return graphqlApi(stack.baseUrl, token);
  if (protocol === 'trpc') return trpcApi(stack.baseUrl, token);
  return connectApi(stack.baseUrl, protocol, token);
}

/** Fails unless `call` fails with `code`, answered with the status the protocol's table gives that code. */
export async function failsWith(api: Api, call: Promise<unknown>, code: string): Promise<ClientError> {
  const error = await thrown(call);
  if (!(error instanceof ClientError)) throw error;
  assert.equal(error.code, code, error.message);
  assert.equal(error.status, api.statusOf(code as ErrorCode), `${api.name} answers ${code} with its mapped status`);
  return error;
}

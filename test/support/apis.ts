// The service as a client sees it, whatever the protocol: one neutral shape per adapter, so one
// behaviour suite (test/behaviour.test.ts) runs unchanged against each (the pattern of hono's
// router `runTest` and connect's conformance cases).
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { ConnectError, createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { status } from '@grpc/grpc-js';
import { CONNECT_CODE_OF, codeName } from '../../src/connect/errors.js';
import { ERROR_TYPE_KEY } from '../../src/contract/errors.js';
import { BadRequestSchema, ErrorInfoSchema } from '../../src/gen/google/rpc/error_details_pb.js';
import { type User as EsUser, UserService } from '../../src/gen/users/v1/users_pb.js';
import { type ErrorCode } from '../../src/domain/errors.js';
import type { EventType, Role } from '../../src/domain/user.js';
import {
  type User as ProtoUser,
  type UserEvent as ProtoUserEvent,
  UserEvent_EventType,
  UserRole,
} from '../../src/gen/users/v1/users.js';
import { describeError, type UserClient } from '../../src/grpc/client.js';
import { GRPC_STATUS_OF } from '../../src/grpc/errors.js';
import { type RestClient, RestError } from '../../src/rest/client.js';
import { HTTP_STATUS_OF, type RestErrorCode } from '../../src/rest/errors.js';
import type { UserJson } from '../../src/rest/representation.js';
import { thrown } from './failures.js';
import { take } from './helpers.js';
import { openSse } from './sse.js';
import type { Stack } from './stack.js';

/** A user as every protocol shows it; times as RFC 3339 strings. */
export interface ApiUser {
  id: string;
  name: string;
  email: string;
  role: Role;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ApiEvent {
  type: EventType;
  revision: number;
  user: ApiUser;
}

/** A role a client may send: a real one, or one the contract does not have. */
export type ApiRole = Role | 'UNKNOWN';

export interface ApiUserInput {
  name?: string;
  email?: string;
  role?: ApiRole;
  tags?: string[];
}

/** A failed call, read the protocol's way: the catalogue code, the protocol status, the bad fields. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    /** gRPC status name (e.g. NOT_FOUND) or HTTP status. */
    readonly status: string | number,
    readonly fields: string[],
    readonly metadata: Record<string, string>,
    message: string,
  ) {
    super(`${code} (${status}): ${message}`);
  }
}

export interface ApiWatch {
  /** The next `count` events, failing after `timeoutMs`. */
  take(count: number, timeoutMs?: number): Promise<ApiEvent[]>;
  /** The error that ends the watch; fails if the watch ends without one. */
  failure(): Promise<ApiError>;
  close(): void;
}

export interface Api {
  readonly name: 'grpc' | 'rest' | 'connect' | 'grpc-web';
  /** The status this protocol answers a code with, by its mapping table. */
  statusOf(code: RestErrorCode): string | number;
  createUser(input: ApiUserInput): Promise<ApiUser>;
  getUser(id: string): Promise<ApiUser>;
  /** Changes exactly the fields given. */
  updateUser(id: string, changes: ApiUserInput): Promise<ApiUser>;
  deleteUser(id: string): Promise<void>;
  createUsers(inputs: ApiUserInput[]): Promise<ApiUser[]>;
  /** Every matching user, newest first (gRPC: one ListUsers stream; REST: every cursor page). */
  listAll(filter?: string): Promise<ApiUser[]>;
  watch(options: { afterRevision?: number; userIds?: string[] }): ApiWatch;
}

/** Awaits `call`, turning the protocol's error into an ApiError (anything else is rethrown). */
async function via<T>(call: Promise<T>, read: (error: unknown) => ApiError | undefined): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw read(error) ?? error;
  }
}

// gRPC ---------------------------------------------------------------------------------------

const grpcRole = (role: ApiRole | undefined): UserRole | undefined =>
  role === undefined ? undefined : role === 'UNKNOWN' ? (99 as UserRole) : UserRole[role];

const grpcInput = (input: ApiUserInput) => ({ ...input, role: grpcRole(input.role) });

function fromProtoUser(user: ProtoUser): ApiUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: UserRole[user.role] as Role,
    tags: user.tags,
    createdAt: user.createdAt!.toISOString(),
    updatedAt: user.updatedAt!.toISOString(),
  };
}

const fromProtoEvent = (event: ProtoUserEvent): ApiEvent => ({
  type: UserEvent_EventType[event.type] as EventType,
  revision: event.revision,
  user: fromProtoUser(event.user!),
});

function grpcError(error: unknown): ApiError | undefined {
  const { code, errorType, badRequest, errorInfo } = describeError(error);
  if (code === undefined) return undefined;
  const fields = badRequest?.fieldViolations.map((v) => v.field) ?? [];
  return new ApiError(errorType ?? '', status[code] ?? String(code), fields, errorInfo?.metadata ?? {}, String(error));
}

export function grpcApi(client: UserClient): Api {
  const call = <T>(promise: Promise<T>) => via(promise, grpcError);
  return {
    name: 'grpc',
    statusOf: (code) => (code in GRPC_STATUS_OF ? status[GRPC_STATUS_OF[code as ErrorCode]] : 'none'),
    createUser: async (input) => fromProtoUser(await call(client.createUser(grpcInput(input)))),
    getUser: async (id) => fromProtoUser(await call(client.getUser({ id }))),
    updateUser: async (id, changes) =>
      fromProtoUser(
        await call(client.updateUser({ user: { id, ...grpcInput(changes) }, updateMask: Object.keys(changes) })),
      ),
    deleteUser: (id) => call(client.deleteUser({ id })),
    createUsers: async (inputs) => (await call(client.createUsers(inputs.map(grpcInput)))).users.map(fromProtoUser),
    listAll: (filter) =>
      call(
        (async () => {
          const users: ApiUser[] = [];
          for await (const user of client.listUsers({ filter })) users.push(fromProtoUser(user));
          return users;
        })(),
      ),
    watch({ afterRevision, userIds = [] }) {
      const watch = client.watchUsers();
      watch.send({ userIds, afterRevision });
      const events = (async function* () {
        for await (const event of watch.events) yield fromProtoEvent(event);
      })();
      return {
        take: (count, timeoutMs) => call(take(events, count, timeoutMs)),
        async failure() {
          const error = await thrown(take(events, Number.MAX_SAFE_INTEGER, 10_000));
          const apiError = grpcError(error);
          if (!apiError) throw error;
          return apiError;
        },
        close: () => watch.cancel(),
      };
    },
  };
}

// REST ---------------------------------------------------------------------------------------

const restRole = (role: ApiRole | undefined) => (role === 'UNKNOWN' ? 'USER_ROLE_UNKNOWN' : role);
const restInput = (input: ApiUserInput) => ({ ...input, role: restRole(input.role) }) as never;

const fromJson = (user: UserJson): ApiUser => user as ApiUser;

function restError(error: unknown): ApiError | undefined {
  if (!(error instanceof RestError)) return undefined;
  const { code, message, details, metadata } = error.body.error;
  return new ApiError(
    code,
    error.status,
    details.map((d) => d.field),
    metadata ?? {},
    message,
  );
}

export function restApi(client: RestClient): Api {
  const call = <T>(promise: Promise<T>) => via(promise, restError);
  return {
    name: 'rest',
    statusOf: (code) => HTTP_STATUS_OF[code],
    createUser: async (input) => fromJson(await call(client.createUser(restInput(input)))),
    getUser: async (id) => fromJson(await call(client.getUser(id))),
    updateUser: async (id, changes) => fromJson(await call(client.updateUser(id, restInput(changes)))),
    deleteUser: (id) => call(client.deleteUser(id)),
    createUsers: async (inputs) => (await call(client.createUsers(inputs.map(restInput)))).users.map(fromJson),
    listAll: (filter) =>
      call(
        (async () => {
          const users: ApiUser[] = [];
          let pageToken = '';
          do {
            const page = await client.listUsers({ filter, pageToken, limit: 500 });
            users.push(...page.users.map(fromJson));
            pageToken = page.nextPageToken;
          } while (pageToken !== '');
          return users;
        })(),
      ),
    watch({ afterRevision, userIds = [] }) {
      const query = new URLSearchParams();
      if (userIds.length > 0) query.set('user_ids', userIds.join(','));
      if (afterRevision !== undefined) query.set('after_revision', String(afterRevision));
      const stream = openSse(client.baseUrl, `/users/events?${query.toString()}`, client.headers);
      let taken = 0;
      return {
        async take(count, timeoutMs) {
          const head = await stream.response;
          if (head.statusCode !== 200) throw restErrorOf(head.statusCode, await stream.text);
          const messages = await stream.waitFor(taken + count, timeoutMs);
          const events = messages.slice(taken).map((m) => ({
            type: SSE_TYPES[m.event ?? ''] ?? (m.event as EventType),
            revision: Number(m.id),
            user: JSON.parse(m.data ?? '{}') as ApiUser,
          }));
          taken += count;
          return events;
        },
        async failure() {
          const head = await stream.response;
          if (head.statusCode === 200) throw new Error('the event stream started: no error');
          return restErrorOf(head.statusCode, await stream.text);
        },
        close: () => stream.close(),
      };
    },
  };
}

const SSE_TYPES: Record<string, EventType> = {
  created: 'EVENT_TYPE_CREATED',
  updated: 'EVENT_TYPE_UPDATED',
  deleted: 'EVENT_TYPE_DELETED',
};

const restErrorOf = (status = 0, body: string): ApiError =>
  restError(new RestError(status, JSON.parse(body) as RestError['body']))!;

// Connect and gRPC-Web -----------------------------------------------------------------------

function connectError(error: unknown): ApiError | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const fields = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  const [info] = error.findDetails(ErrorInfoSchema);
  return new ApiError(
    error.metadata.get(ERROR_TYPE_KEY) ?? '',
    codeName(error.code),
    fields,
    info?.metadata ?? {},
    error.rawMessage,
  );
}

// The same role numbers and the same fields as gRPC's: only the times are Timestamp messages here.
const esInput = (input: ApiUserInput) => grpcInput(input) as { role?: number };

const fromEsUser = (user: EsUser): ApiUser =>
  fromProtoUser({
    ...user,
    role: user.role as number,
    createdAt: timestampDate(user.createdAt!),
    updatedAt: timestampDate(user.updatedAt!),
  });

/** The Connect protocol (JSON, or binary with `binary`) or gRPC-Web, over HTTP/1.1 as browsers speak them. */
export function connectTransport(baseUrl: string, protocol: 'connect' | 'grpc-web', token?: string, binary = false) {
  const interceptors: Interceptor[] = token
    ? [
        (next) => (request) => {
          request.header.set('authorization', `Bearer ${token}`);
          return next(request);
        },
      ]
    : [];
  const options = { baseUrl, httpVersion: '1.1' as const, interceptors };
  return protocol === 'connect'
    ? createConnectTransport({ ...options, useBinaryFormat: binary })
    : createGrpcWebTransport(options);
}

export function connectApi(transport: Transport, name: 'connect' | 'grpc-web'): Api {
  const client = createClient(UserService, transport);
  const call = <T>(promise: Promise<T>) => via(promise, connectError);
  return {
    name,
    statusOf: (code) => (code in CONNECT_CODE_OF ? codeName(CONNECT_CODE_OF[code as ErrorCode]) : 'none'),
    createUser: async (input) => fromEsUser(await call(client.createUser(esInput(input)))),
    getUser: async (id) => fromEsUser(await call(client.getUser({ id }))),
    updateUser: async (id, changes) =>
      fromEsUser(
        await call(
          client.updateUser({ user: { id, ...esInput(changes) }, updateMask: { paths: Object.keys(changes) } }),
        ),
      ),
    deleteUser: async (id) => {
      await call(client.deleteUser({ id }));
    },
    createUsers: async (inputs) =>
      (
        await call(
          client.createUsers(
            (async function* () {
              yield* inputs.map(esInput);
            })(),
          ),
        )
      ).users.map(fromEsUser),
    listAll: (filter) =>
      call(
        (async () => {
          const users: ApiUser[] = [];
          for await (const user of client.listUsers({ filter })) users.push(fromEsUser(user));
          return users;
        })(),
      ),
    watch({ afterRevision, userIds = [] }) {
      const stop = new AbortController();
      const stream = client.subscribeUsers(
        { userIds, ...(afterRevision === undefined ? {} : { afterRevision: BigInt(afterRevision) }) },
        { signal: stop.signal },
      );
      const events = (async function* () {
        for await (const event of stream) {
          yield {
            type: UserEvent_EventType[event.type] as EventType,
            revision: Number(event.revision),
            user: fromEsUser(event.user!),
          };
        }
      })();
      return {
        take: (count, timeoutMs) => call(take(events, count, timeoutMs)),
        async failure() {
          const error = await thrown(take(events, Number.MAX_SAFE_INTEGER, 10_000));
          const apiError = connectError(error);
          if (!apiError) throw error;
          return apiError;
        },
        close: () => stop.abort(),
      };
    },
  };
}

/** Every adapter of a running stack, each as an Api. */
export function apisOf(stack: Stack): Api[] {
  const token = stack.restClient.token;
  return [
    grpcApi(stack.client),
    restApi(stack.restClient),
    connectApi(connectTransport(stack.baseUrl, 'connect', token), 'connect'),
    connectApi(connectTransport(stack.baseUrl, 'grpc-web', token), 'grpc-web'),
  ];
}

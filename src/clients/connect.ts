// UsersApi over Connect (JSON or binary) or gRPC-Web, by ConnectRPC's Node client; the change feed is
// SubscribeUsers, the server stream a browser would use too.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { codeName } from '../connect/errors.js';
import { ERROR_TYPE_KEY } from '../contract/errors.js';
import { BadRequestSchema, ErrorInfoSchema } from '../gen/google/rpc/error_details_pb.js';
import { type User, type UserEvent, UserService } from '../gen/users/v1/users_pb.js';
import { eventTypeName, fromMessage, protoInput } from './grpc.js';
import { clientEvent, ClientError, type ClientUser, type UsersApi, via, viaStream } from './users-api.js';

export function connectError(error: unknown): ClientError | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const violations = error
    .findDetails(BadRequestSchema)
    .flatMap((d) => d.fieldViolations.map(({ field, description }) => ({ field, description })));
  const [info] = error.findDetails(ErrorInfoSchema);
  const code = error.metadata.get(ERROR_TYPE_KEY) ?? '';
  return new ClientError(code, codeName(error.code), violations, info?.metadata ?? {}, error.rawMessage);
}

const fromEs = (user: User): ClientUser =>
  fromMessage({ ...user, createdAt: timestampDate(user.createdAt!), updatedAt: timestampDate(user.updatedAt!) });

const fromEsEvent = (event: UserEvent) =>
  clientEvent(eventTypeName(event.type), Number(event.revision), () => fromEs(event.user!));

export interface ConnectOptions {
  baseUrl: string;
  protocol: 'connect' | 'grpc-web';
  token?: string;
  /** Connect's binary encoding instead of JSON. */
  binary?: boolean;
  /** Over HTTP/2 (what WatchUsers needs); browsers and the default use HTTP/1.1. */
  http2?: boolean;
}

export function connectTransport({ baseUrl, protocol, token, binary = false, http2 = false }: ConnectOptions) {
  const interceptors: Interceptor[] = token
    ? [
        (next) => (request) => {
          request.header.set('authorization', `Bearer ${token}`);
          return next(request);
        },
      ]
    : [];
  const options = { baseUrl, httpVersion: http2 ? ('2' as const) : ('1.1' as const), interceptors };
  return protocol === 'connect'
    ? createConnectTransport({ ...options, useBinaryFormat: binary })
    : createGrpcWebTransport(options);
}

export function connectUsersApi(options: ConnectOptions): UsersApi {
  const client = createClient(UserService, connectTransport(options));
  const call = <T>(promise: Promise<T>) => via(promise, connectError);
  const input = (fields: Parameters<typeof protoInput>[0]) => protoInput(fields) as { role?: number };
  return {
    protocol: options.protocol,
    createUser: async (fields, options) =>
      fromEs(await call(client.createUser({ ...input(fields), requestId: options?.idempotencyKey ?? '' }))),
    getUser: async (id) => fromEs(await call(client.getUser({ id }))),
    updateUser: async (id, changes, options) =>
      fromEs(
        await call(
          client.updateUser({
            user: { id, ...input(changes) },
            updateMask: { paths: Object.keys(changes) },
            etag: options?.ifMatch ?? '',
          }),
        ),
      ),
    deleteUser: async (id, options) => {
      await call(client.deleteUser({ id, etag: options?.ifMatch ?? '' }));
    },
    async listing(filter) {
      let revision: number | undefined;
      const users: ClientUser[] = [];
      const stream = client.listUsers(
        { filter },
        { onHeader: (headers) => (revision = Number(headers.get('x-revision'))) },
      );
      for await (const user of viaStream(stream, connectError)) users.push(fromEs(user));
      if (revision === undefined || Number.isNaN(revision)) throw new Error('the server sent no x-revision');
      return { users, revision };
    },
    createUsers: async (inputs, options) =>
      (
        await call(
          client.createUsers(
            (async function* () {
              yield* inputs.map((fields, i) => ({
                ...input(fields),
                requestId: i === 0 ? (options?.idempotencyKey ?? '') : '',
              }));
            })(),
          ),
        )
      ).users.map(fromEs),
    async *listUsers(filter) {
      for await (const user of viaStream(client.listUsers({ filter }), connectError)) yield fromEs(user);
    },
    async *watch({ afterRevision, userIds = [], bookmarks, signal }) {
      const request = {
        userIds,
        ...(afterRevision === undefined ? {} : { afterRevision: BigInt(afterRevision) }),
        ...(bookmarks === undefined ? {} : { bookmarks }),
      };
      try {
        for await (const message of viaStream(client.subscribeUsers(request, signal ? { signal } : {}), connectError)) {
          const event = fromEsEvent(message);
          if (event) yield event;
        }
      } catch (error) {
        if (!signal?.aborted) throw error;
      }
    },
    close: () => undefined,
  };
}

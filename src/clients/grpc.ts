// UsersApi over gRPC, on the project's grpc-js client.
import { status } from '@grpc/grpc-js';
import {
  type User as ProtoUser,
  type UserEvent as ProtoUserEvent,
  UserEvent_EventType,
  UserRole,
} from '../gen/users/v1/users.js';
import { describeError, type UserClient } from '../grpc/client.js';
import {
  clientEvent,
  type ClientEvent,
  ClientError,
  type ClientUser,
  type UserInput,
  type UsersApi,
  via,
  viaStream,
} from './users-api.js';

/** A role by name as the contract numbers it; a name it does not have goes as a number it does not have. */
export const roleNumber = (role: string | undefined): number | undefined =>
  role === undefined ? undefined : ((UserRole as unknown as Record<string, number>)[role] ?? 99);

/** The fields of a user, with the role as its number. */
export const protoInput = (input: UserInput) => ({ ...input, role: roleNumber(input.role) });

/** A user of either generated code: the role a number, the times dates. */
export function fromMessage(
  user: Omit<ProtoUser, 'role' | 'revision'> & { role: number; revision: number | bigint },
): ClientUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: UserRole[user.role] ?? String(user.role),
    tags: user.tags,
    createdAt: user.createdAt!.toISOString(),
    updatedAt: user.updatedAt!.toISOString(),
    revision: Number(user.revision),
    etag: user.etag,
  };
}

/** An event type by the contract's name, from its number in either generated code. */
export const eventTypeName = (type: number): string => UserEvent_EventType[type] ?? String(type);

const fromProtoEvent = (event: ProtoUserEvent): ClientEvent | undefined =>
  clientEvent(eventTypeName(event.type), event.revision, () => fromMessage(event.user!));

export function grpcError(error: unknown): ClientError | undefined {
  const { code, errorType, badRequest, errorInfo } = describeError(error);
  if (code === undefined) return undefined;
  const violations = badRequest?.fieldViolations.map(({ field, description }) => ({ field, description })) ?? [];
  const message = (error as { details?: string }).details ?? String(error);
  return new ClientError(errorType ?? '', status[code] ?? String(code), violations, errorInfo?.metadata ?? {}, message);
}

export function grpcUsersApi(client: UserClient): UsersApi {
  const call = <T>(promise: Promise<T>) => via(promise, grpcError);
  return {
    protocol: 'grpc',
    createUser: async (input, options) =>
      fromMessage(await call(client.createUser({ ...protoInput(input), requestId: options?.idempotencyKey ?? '' }))),
    getUser: async (id) => fromMessage(await call(client.getUser({ id }))),
    updateUser: async (id, changes, options) =>
      fromMessage(
        await call(
          client.updateUser({
            user: { id, ...protoInput(changes) },
            updateMask: Object.keys(changes),
            etag: options?.ifMatch ?? '',
          }),
        ),
      ),
    deleteUser: async (id, options) => {
      await call(client.deleteUser({ id, etag: options?.ifMatch ?? '' }));
    },
    async listing(filter) {
      const { users, revision } = client.listing({ filter });
      const listed: ClientUser[] = [];
      for await (const user of viaStream(users, grpcError)) listed.push(fromMessage(user));
      return { users: listed, revision: await call(revision) };
    },
    createUsers: async (inputs, options) =>
      (
        await call(
          client.createUsers(
            inputs.map((input, i) => ({
              ...protoInput(input),
              requestId: i === 0 ? (options?.idempotencyKey ?? '') : '',
            })),
          ),
        )
      ).users.map(fromMessage),
    async *listUsers(filter) {
      for await (const user of viaStream(client.listUsers({ filter }), grpcError)) yield fromMessage(user);
    },
    async *watch({ afterRevision, userIds = [], bookmarks, signal }) {
      const watch = client.watchUsers(signal ? { signal } : {});
      watch.send({ userIds, afterRevision, bookmarks });
      try {
        for await (const message of viaStream(watch.events, grpcError)) {
          const event = fromProtoEvent(message);
          if (event) yield event;
        }
      } catch (error) {
        if (!signal?.aborted) throw error;
      } finally {
        watch.cancel();
      }
    },
    close: () => client.close(),
  };
}

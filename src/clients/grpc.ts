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
export function fromMessage(user: Omit<ProtoUser, 'role'> & { role: number }): ClientUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: UserRole[user.role] ?? String(user.role),
    tags: user.tags,
    createdAt: user.createdAt!.toISOString(),
    updatedAt: user.updatedAt!.toISOString(),
  };
}

/** An event type by the contract's name, from its number in either generated code. */
export const eventTypeName = (type: number): string => UserEvent_EventType[type] ?? String(type);

const fromProtoEvent = (event: ProtoUserEvent): ClientEvent => ({
  type: eventTypeName(event.type),
  revision: event.revision,
  user: fromMessage(event.user!),
});

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
    createUser: async (input) => fromMessage(await call(client.createUser(protoInput(input)))),
    getUser: async (id) => fromMessage(await call(client.getUser({ id }))),
    updateUser: async (id, changes) =>
      fromMessage(
        await call(client.updateUser({ user: { id, ...protoInput(changes) }, updateMask: Object.keys(changes) })),
      ),
    deleteUser: async (id) => {
      await call(client.deleteUser({ id }));
    },
    createUsers: async (inputs) => (await call(client.createUsers(inputs.map(protoInput)))).users.map(fromMessage),
    async *listUsers(filter) {
      for await (const user of viaStream(client.listUsers({ filter }), grpcError)) yield fromMessage(user);
    },
    async *watch({ afterRevision, userIds = [], signal }) {
      const watch = client.watchUsers(signal ? { signal } : {});
      watch.send({ userIds, afterRevision });
      try {
        for await (const event of viaStream(watch.events, grpcError)) yield fromProtoEvent(event);
      } catch (error) {
        if (!signal?.aborted) throw error;
      } finally {
        watch.cancel();
      }
    },
    close: () => client.close(),
  };
}

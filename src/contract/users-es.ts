// The domain's model in the contract's protobuf-es types (`*_pb.ts`) and back, for the Connect and
// gRPC-Web adapter. The same contract as users.ts: ConnectRPC needs protobuf-es descriptors, grpc-js
// and REST keep ts-proto's static codecs (see docs/browsers.md for why both).
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { isBookmark, type NewUserInput, type Role, type User, type WatchEvent } from '../domain/user.js';
import {
  type CreateUserRequest,
  type User as UserMessage,
  type UserEvent as UserEventMessage,
  type UserEvent_EventType,
  UserEventSchema,
  type UserRole,
  UserSchema,
} from '../gen/users/v1/users_pb.js';
import { UserEvent_EventType as EventTypeNumber } from '../gen/users/v1/users.js';
import { roleFromProto, roleToProto } from './users.js';
import { etagOf } from './consistency.js';

// Both generators number the enums as the .proto does (protobuf-es drops the names' prefixes, ts-proto
// keeps them, as the domain does): a role or an event type is the same number in either.
const roleToMessage = (role: Role): UserRole => roleToProto(role) as number;
export const roleFromMessage = (role: UserRole): string | undefined => roleFromProto(role as number);

export function userToMessage(user: User): UserMessage {
  return create(UserSchema, {
    id: user.id,
    name: user.name,
    email: user.email,
    role: roleToMessage(user.role),
    tags: user.tags as string[],
    createdAt: timestampFromDate(user.createdAt),
    updatedAt: timestampFromDate(user.updatedAt),
    revision: BigInt(user.revision),
    etag: etagOf(user.revision),
  });
}

/** A change, or a bookmark (its type and revision only). */
export function eventToMessage(event: WatchEvent): UserEventMessage {
  if (isBookmark(event)) {
    return create(UserEventSchema, {
      type: EventTypeNumber[event.type] as number as UserEvent_EventType,
      revision: BigInt(event.revision),
    });
  }
  return create(UserEventSchema, {
    type: EventTypeNumber[event.type] as number as UserEvent_EventType,
    user: userToMessage(event.user),
    timestamp: timestampFromDate(event.timestamp),
    revision: BigInt(event.revision),
  });
}

export function newUserFromMessage(request: CreateUserRequest): NewUserInput {
  return { name: request.name, email: request.email, role: roleFromMessage(request.role), tags: request.tags };
}

/**
 * A revision as a client sent it (int64): beyond 2^53 it cannot be one this server wrote, and
 * stays unsafe as a number so the domain refuses it by name.
 */
export const revisionFromMessage = (revision: bigint | undefined): number | undefined =>
  revision === undefined ? undefined : Number(revision);

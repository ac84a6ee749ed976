// The domain's model in the contract's generated types (users.v1) and back: what gRPC sends, and
// what REST sends as application/x-protobuf. Both adapters translate through here, so the two
// encodings of one user are the same bytes.
import {
  type Bookmark,
  isRole,
  type NewUserInput,
  type Role,
  type User,
  type UserEvent,
  type UserUpdate,
} from '../domain/user.js';
import {
  type CreateUserRequest,
  type User as ProtoUser,
  type UserEvent as ProtoUserEvent,
  UserEvent_EventType,
  UserRole,
} from '../gen/users/v1/users.js';
import { etagOf } from './consistency.js';

export function roleToProto(role: Role): UserRole {
  return UserRole[role];
}

/**
 * A role as a client sent it: the unset value means "the default" (undefined);
 * an unknown number keeps its digits, so the domain rejects it by name.
 */
export function roleFromProto(role: UserRole): string | undefined {
  if (role === UserRole.USER_ROLE_UNSPECIFIED) return undefined;
  const name = UserRole[role] as string | undefined;
  return name !== undefined && isRole(name) ? name : String(role);
}

export function userToProto(user: User): ProtoUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: roleToProto(user.role),
    tags: user.tags as string[],
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
    revision: user.revision,
    etag: etagOf(user.revision),
  };
}

export function eventToProto(event: UserEvent): ProtoUserEvent {
  return {
    type: UserEvent_EventType[event.type],
    user: userToProto(event.user),
    timestamp: event.timestamp,
    revision: event.revision,
  };
}

/** A bookmark: its type and revision only (no user, no time). */
export function bookmarkToProto(bookmark: Bookmark): ProtoUserEvent {
  return {
    type: UserEvent_EventType.EVENT_TYPE_BOOKMARK,
    user: undefined,
    timestamp: undefined,
    revision: bookmark.revision,
  };
}

export function newUserFromProto(request: CreateUserRequest): NewUserInput {
  return { name: request.name, email: request.email, role: roleFromProto(request.role), tags: request.tags };
}

/** The fields of a `User` message an update may take, as a client sent them. */
export interface UserFields {
  name: string;
  email: string;
  role: string | undefined;
  tags: string[];
}

/**
 * An UpdateUserRequest: its field mask names the fields to take from `user`; the domain checks the
 * names, and its `fields[i]` is the request's `update_mask.paths[i]`.
 */
export function updateFromMask(user: UserFields | undefined, paths: string[]): UserUpdate {
  return {
    fields: paths,
    changes: { name: user?.name, email: user?.email, role: user?.role, tags: user?.tags },
    fieldPath: (field) => field.replace(/^fields/, 'update_mask.paths'),
  };
}

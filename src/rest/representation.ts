import { invalidArgument } from '../domain/errors.js';
import { HttpError, HttpErrorCode } from './errors.js';
import { type EventType, type NewUserInput, type ROLES, type User, type UserUpdate } from '../domain/user.js';
import { roleFromProto, userToProto } from '../contract/users.js';
import type { RepresentationCache } from '../contract/representations.js';
import { asBuffer } from '../contract/wire.js';
import { userToJson as wholeUserJson } from '../contract/user-json.js';
import { encodeMsgpack } from './msgpack.js';
import {
  CreateUserRequest as CreateUserRequestCodec,
  CreateUsersResponse,
  type User as ProtoUser,
  User as UserCodec,
  UserPage,
  UserRole,
} from '../gen/users/v1/users.js';

/**
 * A user as REST sends it: the proto3 JSON mapping of `users.v1.User`
 * (lowerCamelCase names, enum names, RFC 3339 timestamps), in every media type.
 */
export interface UserJson {
  id?: string;
  name?: string;
  email?: string;
  role?: string;
  tags?: string[];
  createdAt?: string;
  updatedAt?: string;
  /** int64 in the proto3 JSON mapping: digits in a string. */
  revision?: string;
  etag?: string;
}

export const USER_FIELDS = [
  'id',
  'name',
  'email',
  'role',
  'tags',
  'createdAt',
  'updatedAt',
  'revision',
  'etag',
] as const;
export type UserField = (typeof USER_FIELDS)[number];

export function userToJson(user: User, fields?: readonly UserField[]): UserJson {
  const full: Required<UserJson> = wholeUserJson(user);
  if (!fields) return full;
  return Object.fromEntries(fields.map((f) => [f, full[f]]));
}

/** A user with only `fields` set, the rest at their proto defaults (and so not on the wire). */
function sparseUser(user: User, fields?: readonly UserField[]): ProtoUser {
  const full = userToProto(user);
  if (!fields) return full;
  const keep = new Set<string>(fields);
  return {
    id: keep.has('id') ? full.id : '',
    name: keep.has('name') ? full.name : '',
    email: keep.has('email') ? full.email : '',
    role: keep.has('role') ? full.role : UserRole.USER_ROLE_UNSPECIFIED,
    tags: keep.has('tags') ? full.tags : [],
    createdAt: keep.has('createdAt') ? full.createdAt : undefined,
    updatedAt: keep.has('updatedAt') ? full.updatedAt : undefined,
    revision: keep.has('revision') ? full.revision : 0,
    etag: keep.has('etag') ? full.etag : '',
  };
}

/** `?fields=id,name`: validated against the User fields (proto or JSON names). */
export function parseFields(raw: string | undefined): UserField[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const names = raw.split(',').map((f) => f.trim().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
  const unknown = names.filter((n) => !(USER_FIELDS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw invalidArgument([
      { field: 'fields', description: `unknown fields: ${unknown.join(', ')} (known: ${USER_FIELDS.join(', ')})` },
    ]);
  }
  return names as UserField[];
}

export const MEDIA = {
  json: 'application/json',
  msgpack: 'application/msgpack',
  protobuf: 'application/x-protobuf',
} as const;
export type MediaType = (typeof MEDIA)[keyof typeof MEDIA];
export const MEDIA_TYPES: readonly MediaType[] = Object.values(MEDIA);

/** Accept headers answered before, at most NEGOTIATED_MAX: clients send the same few on every request. */
const negotiated = new Map<string, MediaType | undefined>();
const NEGOTIATED_MAX = 256;

/**
 * Picks the response media type from `Accept` (q-values honoured, order of
 * preference on ties); undefined when nothing acceptable is offered.
 */
export function negotiate(
  accept: string | undefined,
  offered: readonly MediaType[] = MEDIA_TYPES,
): MediaType | undefined {
  if (!accept || accept.trim() === '') return offered[0];
  if (offered !== MEDIA_TYPES) return pick(accept, offered);
  if (negotiated.has(accept)) return negotiated.get(accept);
  const type = pick(accept, offered);
  if (negotiated.size >= NEGOTIATED_MAX) negotiated.delete(negotiated.keys().next().value!);
  negotiated.set(accept, type);
  return type;
}

function pick(accept: string, offered: readonly MediaType[]): MediaType | undefined {
  let best: { type: MediaType; q: number } | undefined;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part
      .trim()
      .toLowerCase()
      .split(';')
      .map((p) => p.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!(q > 0)) continue;
    const match = offered.find((t) => range === t || range === '*/*' || range === `${t.split('/')[0]}/*`);
    if (match && (!best || q > best.q)) best = { type: range.includes('*') ? offered[0]! : match, q };
  }
  return best?.type;
}

/**
 * One user in the negotiated media type, ready to send: JSON as its text (in the schema's key order,
 * as Fastify's serializer writes it), protobuf as the very bytes gRPC sends.
 */
export function encodeUser(user: User, type: MediaType, fields?: readonly UserField[]): Buffer | string {
  switch (type) {
    case MEDIA.protobuf:
      return asBuffer(UserCodec.encode(sparseUser(user, fields)).finish());
    case MEDIA.msgpack:
      return encodeMsgpack(userToJson(user, fields));
    case MEDIA.json:
      return JSON.stringify(userToJson(user, fields));
  }
}

/** Users' encodings as the REST server keeps them (contract/representations.ts). */
export type RestRepresentations = RepresentationCache<Buffer | string>;

/** `user` encoded as `encodeUser` does, from `cache` when this version was encoded in this form before. */
export function cachedUser(
  cache: RestRepresentations,
  user: User,
  type: MediaType,
  fields?: readonly UserField[],
): Buffer | string {
  return cache.get(user, fields ? `${type} ${fields.join(',')}` : type, () => encodeUser(user, type, fields));
}

export interface PageJson {
  users: UserJson[];
  nextPageToken: string;
  revision?: string;
  totalCount?: number;
  totalCountIsLowerBound?: boolean;
}

/**
 * A page in the negotiated media type, ready to send; its users' JSON from `cache` (the text of
 * the schema's UserPage: users, nextPageToken, then the offset page's counts).
 */
export function encodePage(
  cache: RestRepresentations,
  page: {
    users: User[];
    nextPageToken: string;
    /** The change-log revision the page reflects. */
    revision: number;
    totalCount?: number;
    totalCountIsLowerBound?: boolean;
  },
  type: MediaType,
  fields?: readonly UserField[],
): Buffer | string {
  if (type === MEDIA.protobuf) {
    const users = page.users.map((u) => sparseUser(u, fields));
    return asBuffer(
      UserPage.encode({
        users,
        nextPageToken: page.nextPageToken,
        totalCount: page.totalCount ?? 0,
        totalCountIsLowerBound: page.totalCountIsLowerBound ?? false,
        revision: page.revision,
      }).finish(),
    );
  }
  if (type === MEDIA.msgpack) {
    const json: PageJson = {
      users: page.users.map((u) => userToJson(u, fields)),
      nextPageToken: page.nextPageToken,
      revision: String(page.revision),
    };
    if (page.totalCount !== undefined) json.totalCount = page.totalCount;
    if (page.totalCountIsLowerBound !== undefined) json.totalCountIsLowerBound = page.totalCountIsLowerBound;
    return encodeMsgpack(json);
  }
  const users = page.users.map((u) => cachedUser(cache, u, MEDIA.json, fields) as string).join(',');
  let text = `{"users":[${users}],"nextPageToken":${JSON.stringify(page.nextPageToken)},"revision":"${page.revision}"`;
  if (page.totalCount !== undefined) text += `,"totalCount":${page.totalCount}`;
  if (page.totalCountIsLowerBound !== undefined) text += `,"totalCountIsLowerBound":${page.totalCountIsLowerBound}`;
  return `${text}}`;
}

/** The JSON input of a new user; the schema has already checked its shape. */
export interface CreateUserJson {
  name: string;
  email: string;
  role?: (typeof ROLES)[number];
  tags?: string[];
}

export function newUserFromJson(body: CreateUserJson): NewUserInput {
  return { name: body.name, email: body.email, role: body.role, tags: body.tags };
}

/** A protobuf body is a `users.v1.CreateUserRequest`, as gRPC's CreateUser takes. */
export function createJsonFromProtobuf(body: Buffer): CreateUserJson {
  let request: ReturnType<typeof CreateUserRequestCodec.decode>;
  try {
    request = CreateUserRequestCodec.decode(body);
  } catch {
    throw new HttpError(HttpErrorCode.MALFORMED_BODY, 'the body is not a valid users.v1.CreateUserRequest');
  }
  const json: CreateUserJson = { name: request.name, email: request.email, tags: request.tags };
  // An unknown number keeps its digits, so the schema rejects it rather than defaulting it.
  const role = roleFromProto(request.role);
  if (role !== undefined) json.role = role as CreateUserJson['role'];
  return json;
}

/** A batch's answer; protobuf is the very `CreateUsersResponse` gRPC sends. */
export function encodeBatch(users: User[], type: MediaType): Buffer | { users: UserJson[]; createdCount: number } {
  if (type === MEDIA.protobuf)
    return asBuffer(CreateUsersResponse.encode({ users: users.map(userToProto), createdCount: users.length }).finish());
  const json = { users: users.map((u) => userToJson(u)), createdCount: users.length };
  return type === MEDIA.msgpack ? encodeMsgpack(json) : json;
}

/** A PATCH body changes the fields it carries; the domain's list of them is the body itself. */
export function updateFromJson(body: Partial<CreateUserJson>): UserUpdate {
  return {
    fields: Object.keys(body),
    changes: body,
    fieldPath: (field) => (field.startsWith('fields') ? 'body' : field),
  };
}

/** The SSE event name of each change: every type has one, or the build breaks. */
export const SSE_EVENT_NAME: Record<EventType, string> = {
  EVENT_TYPE_CREATED: 'created',
  EVENT_TYPE_UPDATED: 'updated',
  EVENT_TYPE_DELETED: 'deleted',
};

/** The SSE event name of a bookmark (no change: its `id:` is the revision the stream has read). */
export const SSE_BOOKMARK = 'bookmark';

/** The change of each SSE event name, for clients. */
export const SSE_EVENT_TYPES: Record<string, EventType> = Object.fromEntries(
  Object.entries(SSE_EVENT_NAME).map(([type, name]) => [name, type as EventType]),
);

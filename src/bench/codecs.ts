import { gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import { unpack } from 'msgpackr';
import type { User } from '../domain/user.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { userToProto } from '../contract/users.js';
import { userToMessage } from '../contract/users-es.js';
import { UserPageSchema, UserSchema } from '../gen/users/v1/users_pb.js';
import { User as UserCodec, UserPage } from '../gen/users/v1/users.js';
import { userToJson } from '../rest/representation.js';
import { decodeMsgpack, encodeMsgpack } from '../rest/msgpack.js';
import { loadOriginalDefinition, toOriginalMessage } from './original-design.js';

/**
 * One way to put users on the wire, from the same in-memory domain users.
 * "One" is a single user; "many" is a list (REST's page, protobuf's repeated
 * `users` field 1).
 */
export interface Codec {
  name: CodecName;
  label: string;
  encodeOne(user: User): Uint8Array | string;
  decodeOne(bytes: Uint8Array | string): unknown;
  encodeMany(users: User[]): Uint8Array | string;
  decodeMany(bytes: Uint8Array | string): unknown;
}

export type CodecName = 'json' | 'protobuf' | 'protobuf-es' | 'proto-loader' | 'msgpackr' | 'msgpack';

const asText = (bytes: Uint8Array | string) => (typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString());
const asBytes = (bytes: Uint8Array | string) => (typeof bytes === 'string' ? Buffer.from(bytes) : bytes);

const pageJson = (users: User[]) => ({ users: users.map((u) => userToJson(u)), nextPageToken: '' });

/**
 * proto-loader has no list message of its own here; CreateUsersResponse carries `repeated User users = 1` as UserPage
 * does.
 */
function protoLoaderCodec(): Codec {
  const service = loadOriginalDefinition()['users.v1.UserService'] as Record<
    string,
    { responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown }
  >;
  const one = service.GetUser!;
  const many = service.CreateUsers!;
  return {
    name: 'proto-loader',
    label: 'protobuf via proto-loader (original design)',
    encodeOne: (user) => one.responseSerialize(toOriginalMessage(user)),
    decodeOne: (bytes) => one.responseDeserialize(Buffer.from(asBytes(bytes))),
    encodeMany: (users) => many.responseSerialize({ users: users.map(toOriginalMessage), created_count: 0 }),
    decodeMany: (bytes) => many.responseDeserialize(Buffer.from(asBytes(bytes))),
  };
}

export function codecs(): Codec[] {
  return [
    {
      name: 'json',
      label: 'JSON (proto3 JSON mapping, JSON.stringify/parse)',
      encodeOne: (user) => JSON.stringify(userToJson(user)),
      decodeOne: (text) => JSON.parse(asText(text)) as unknown,
      encodeMany: (users) => JSON.stringify(pageJson(users)),
      decodeMany: (text) => JSON.parse(asText(text)) as unknown,
    },
    {
      name: 'protobuf',
      label: 'protobuf, generated static codec (twinapi)',
      encodeOne: (user) => UserCodec.encode(userToProto(user)).finish(),
      decodeOne: (bytes) => UserCodec.decode(asBytes(bytes)),
      encodeMany: (users) =>
        UserPage.encode({
          users: users.map(userToProto),
          nextPageToken: '',
          totalCount: 0,
          totalCountIsLowerBound: false,
          revision: 0,
        }).finish(),
      decodeMany: (bytes) => UserPage.decode(asBytes(bytes)),
    },
    {
      // What the Connect and gRPC-Web adapter runs on: the same bytes, through protobuf-es's reflection.
      name: 'protobuf-es',
      label: 'protobuf via protobuf-es (Connect / gRPC-Web adapter)',
      encodeOne: (user) => toBinary(UserSchema, userToMessage(user)),
      decodeOne: (bytes) => fromBinary(UserSchema, asBytes(bytes)),
      encodeMany: (users) =>
        toBinary(UserPageSchema, create(UserPageSchema, { users: users.map(userToMessage), nextPageToken: '' })),
      decodeMany: (bytes) => fromBinary(UserPageSchema, asBytes(bytes)),
    },
    protoLoaderCodec(),
    {
      // What REST sends as application/msgpack (src/rest/msgpack.ts), read back by msgpackr.
      name: 'msgpackr',
      label: 'MessagePack (msgpackr: REST responses)',
      encodeOne: (user) => encodeMsgpack(userToJson(user)),
      decodeOne: (bytes): unknown => unpack(asBytes(bytes)),
      encodeMany: (users) => encodeMsgpack(pageJson(users)),
      decodeMany: (bytes): unknown => unpack(asBytes(bytes)),
    },
    {
      // The same bytes by the library REST used before, which still decodes its request bodies.
      name: 'msgpack',
      label: 'MessagePack (@msgpack/msgpack: REST request bodies)',
      encodeOne: (user) => encode(userToJson(user)),
      decodeOne: (bytes) => decodeMsgpack(asBytes(bytes)),
      encodeMany: (users) => encode(pageJson(users)),
      decodeMany: (bytes) => decodeMsgpack(asBytes(bytes)),
    },
  ];
}

export function byteLength(encoded: Uint8Array | string): number {
  return typeof encoded === 'string' ? Buffer.byteLength(encoded) : encoded.byteLength;
}

export function gzippedLength(encoded: Uint8Array | string): number {
  return gzipSync(typeof encoded === 'string' ? Buffer.from(encoded) : encoded).byteLength;
}

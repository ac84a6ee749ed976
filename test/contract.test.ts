import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { toBinary } from '@bufbuild/protobuf';
import { eventToMessage, userToMessage } from '../src/contract/users-es.js';
import { eventToProto, userToProto } from '../src/contract/users.js';
import { newUser } from '../src/domain/user.js';
import { User as UserCodec, UserEvent as UserEventCodec } from '../src/gen/users/v1/users.js';
import { UserEventSchema, UserSchema } from '../src/gen/users/v1/users_pb.js';
import { tempDir } from './support/helpers.js';

const root = new URL('..', import.meta.url).pathname;
const buf = (...args: string[]) =>
  execFileSync(join(root, 'node_modules/.bin/buf'), args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` },
  });

interface Field {
  name: string;
  number: number;
  label?: string;
  typeName?: string;
}
interface Message {
  name: string;
  field?: Field[];
  nestedType?: Message[];
  enumType?: { name: string; value: { name: string; number: number }[] }[];
}
interface Method {
  name: string;
  inputType: string;
  outputType: string;
  clientStreaming?: boolean;
  serverStreaming?: boolean;
}
interface File {
  name: string;
  messageType: Message[];
  enumType: { name: string; value: { name: string; number: number }[] }[];
  service: { name: string; method: Method[] }[];
}

// The original design's fields, by number: these may never change.
const ORIGINAL: Record<string, Record<string, number>> = {
  User: { id: 1, name: 2, email: 3, role: 4, tags: 5, created_at: 6, updated_at: 7 },
  GetUserRequest: { id: 1 },
  ListUsersRequest: { page_size: 1, page_token: 2, filter: 3 },
  CreateUserRequest: { name: 1, email: 2, role: 3 },
  CreateUsersResponse: { users: 1, created_count: 2 },
  WatchUsersRequest: { user_ids: 1 },
  UserEvent: { type: 1, user: 2, timestamp: 3 },
};

describe('contract', () => {
  const files = (JSON.parse(buf('build', '-o', '-#format=json')) as { file: File[] }).file;
  const users = files.find((f) => f.name === 'users/v1/users.proto')!;
  const message = (name: string) => users.messageType.find((m) => m.name === name)!;

  it('passes buf lint', () => {
    buf('lint');
  });

  it('keeps every field of the original design with its number', () => {
    for (const [name, fields] of Object.entries(ORIGINAL)) {
      const actual = Object.fromEntries(message(name).field!.map((f) => [f.name, f.number]));
      for (const [field, number] of Object.entries(fields)) assert.equal(actual[field], number, `${name}.${field}`);
    }
    const roles = users.enumType.find((e) => e.name === 'UserRole')!.value.map((v) => [v.name, v.number]);
    assert.deepEqual(roles, [
      ['USER_ROLE_UNSPECIFIED', 0],
      ['USER_ROLE_USER', 1],
      ['USER_ROLE_ADMIN', 2],
    ]);
    const eventTypes = message('UserEvent').enumType![0]!.value.map((v) => [v.name, v.number]);
    assert.deepEqual(eventTypes.slice(0, 4), [
      ['EVENT_TYPE_UNSPECIFIED', 0],
      ['EVENT_TYPE_CREATED', 1],
      ['EVENT_TYPE_UPDATED', 2],
      ['EVENT_TYPE_DELETED', 3],
    ]);
  });

  it('adds revision to events, resumption and bookmarks to watch requests, with new numbers', () => {
    assert.deepEqual(message('UserEvent').field!.find((f) => f.name === 'revision')?.number, 4);
    const eventTypes = message('UserEvent').enumType![0]!.value.map((v) => [v.name, v.number]);
    assert.deepEqual(eventTypes.slice(4), [['EVENT_TYPE_BOOKMARK', 4]]);
    for (const request of ['WatchUsersRequest', 'SubscribeUsersRequest']) {
      const numbers = Object.fromEntries(message(request).field!.map((f) => [f.name, f.number]));
      assert.deepEqual({ ...numbers, user_ids: 1 }, { user_ids: 1, after_revision: 2, bookmarks: 3 }, request);
    }
  });

  it('declares every RPC with its streaming shape; WatchUsers is bidirectional', () => {
    const shapes = Object.fromEntries(
      users.service[0]!.method.map((m) => [
        m.name,
        `${m.clientStreaming ? 'stream ' : ''}in, ${m.serverStreaming ? 'stream ' : ''}out`,
      ]),
    );
    assert.deepEqual(shapes, {
      GetUser: 'in, out',
      CreateUser: 'in, out',
      UpdateUser: 'in, out',
      DeleteUser: 'in, out',
      ListUsers: 'in, stream out',
      CreateUsers: 'stream in, out',
      WatchUsers: 'stream in, stream out',
      SubscribeUsers: 'in, stream out',
    });
  });

  it('puts a user and an event in the same bytes through either generated code (ts-proto for gRPC and REST, protobuf-es for Connect)', () => {
    const user = newUser({ name: 'Ada', email: 'ada@example.com', role: 'USER_ROLE_ADMIN', tags: ['math', 'poetry'] });
    const event = { type: 'EVENT_TYPE_UPDATED', user, timestamp: new Date(), revision: 2 ** 40 } as const;
    assert.deepEqual(
      toBinary(UserSchema, userToMessage(user)),
      new Uint8Array(UserCodec.encode(userToProto(user)).finish()),
    );
    assert.deepEqual(
      toBinary(UserEventSchema, eventToMessage(event)),
      new Uint8Array(UserEventCodec.encode(eventToProto(event)).finish()),
    );
  });

  it('has committed generated code identical to what buf generates now', () => {
    const out = tempDir();
    buf('generate', '--output', out);
    execFileSync(process.execPath, [join(root, 'scripts/descriptor-set.mjs'), out]);
    const list = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(dir, join(e.parentPath, e.name)))
        .sort();
    const committed = join(root, 'src/gen');
    const fresh = join(out, 'src/gen');
    assert.deepEqual(list(fresh), list(committed));
    for (const file of list(fresh)) {
      assert.equal(
        readFileSync(join(fresh, file), 'utf8'),
        readFileSync(join(committed, file), 'utf8'),
        `${file} is stale: run npm run generate`,
      );
    }
  });
});

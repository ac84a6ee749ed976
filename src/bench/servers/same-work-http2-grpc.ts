// The gRPC engine's floor doing real work: a hand-written gRPC server on bare node:http2 (route by
// path, one length-prefixed message in, the project's static codec, messages and OK trailers out)
// with the same statements as every same-work baseline (same-work-sql.ts). No deadlines, metadata,
// limits or compression: what a server that does nothing else costs.
import { createServer, type ServerHttp2Stream } from 'node:http2';
import {
  CreateUserRequest,
  GetUserRequest,
  ListUsersRequest,
  UpdateUserRequest,
  User,
} from '../../gen/users/v1/users.js';
import { grpcFrame } from '../load/spec.js';
import { announce, portOf, serverSettings } from './entry.js';
import { newUserOf, openSameWork, userMessage, type Written } from './same-work-sql.js';

const { db } = serverSettings<{ db: string }>();
const store = openSameWork(db);

const RESPONSE = { ':status': 200, 'content-type': 'application/grpc' };
const encoded = (message: User) => grpcFrame(User.encode(message).finish());

/** The messages, then OK; or a trailers-only status. */
function reply(stream: ServerHttp2Stream, messages: Buffer[]): void {
  stream.respond(RESPONSE, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  for (const message of messages.slice(0, -1)) stream.write(message);
  stream.end(messages.at(-1));
}
function fail(stream: ServerHttp2Stream, code: number, message: string): void {
  if (!stream.destroyed)
    stream.respond({ ...RESPONSE, 'grpc-status': String(code), 'grpc-message': message }, { endStream: true });
}
const written = (stream: ServerHttp2Stream) => (outcome: Written) => {
  if (outcome === 'email-taken') return fail(stream, 6, 'email taken');
  if (outcome === 'not-found') return fail(stream, 5, 'not found');
  reply(stream, [encoded(userMessage(outcome))]);
};

/** Each method: the request message's bytes in, the stream answered. */
const METHODS: Record<string, (stream: ServerHttp2Stream, bytes: Buffer) => Promise<void>> = {
  '/users.v1.UserService/GetUser': async (stream, bytes) => {
    const row = await store.user(GetUserRequest.decode(bytes).id);
    if (row) reply(stream, [encoded(userMessage(row))]);
    else fail(stream, 5, 'not found');
  },
  '/users.v1.UserService/ListUsers': async (stream, bytes) => {
    const request = ListUsersRequest.decode(bytes);
    const rows = await store.page(request.pageToken, request.pageSize || 50);
    reply(
      stream,
      rows.map((row) => encoded(userMessage(row))),
    );
  },
  '/users.v1.UserService/CreateUser': async (stream, bytes) => {
    written(stream)(await store.create(newUserOf(CreateUserRequest.decode(bytes))));
  },
  '/users.v1.UserService/UpdateUser': async (stream, bytes) => {
    const { user, updateMask } = UpdateUserRequest.decode(bytes);
    if (!user?.id || updateMask?.join() !== 'name') return fail(stream, 3, 'renames only');
    written(stream)(await store.rename(user.id, user.name));
  },
};

const server = createServer();
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  const method = METHODS[headers[':path'] ?? ''];
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    if (!method) return fail(stream, 12, 'unknown method');
    const body = Buffer.concat(chunks);
    method(stream, body.subarray(5, 5 + body.readUInt32BE(1))).catch((error: Error) => fail(stream, 13, error.message));
  });
});
server.listen(0, '127.0.0.1', () => {
  announce({ grpc: portOf(server.address()) }, async () => {
    server.close();
    await store.close();
  });
});

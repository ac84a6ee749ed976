// A hand-written grpc-js server doing GetUser's, ListUsers', CreateUser's and UpdateUser's work as
// an expert would: the same statements (same-work-sql.ts) and the project's static codec, no
// framework of ours.
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type { CreateUserRequest, ListUsersRequest, UpdateUserRequest, User } from '../../gen/users/v1/users.js';
import { userServiceDefinition } from '../../grpc/definition.js';
import { announce, serverSettings } from './entry.js';
import { newUserOf, openSameWork, userMessage, type Written } from './same-work-sql.js';

const { db } = serverSettings<{ db: string }>();
const store = openSameWork(db);

/** A write's outcome as the callback takes it. */
const answer = (callback: sendUnaryData<User>) => (written: Written) => {
  if (written === 'email-taken') return callback({ code: status.ALREADY_EXISTS, details: 'email taken' });
  if (written === 'not-found') return callback({ code: status.NOT_FOUND, details: 'not found' });
  callback(null, userMessage(written));
};
const failed = (callback: sendUnaryData<User>) => (error: Error) =>
  callback({ code: status.INTERNAL, details: error.message });

const server = new Server();
server.addService(userServiceDefinition, {
  getUser(call: ServerUnaryCall<{ id: string }, User>, callback: sendUnaryData<User>) {
    store
      .user(call.request.id)
      .then((row) =>
        row ? callback(null, userMessage(row)) : callback({ code: status.NOT_FOUND, details: 'not found' }),
      )
      .catch(failed(callback));
  },
  listUsers(call: ServerWritableStream<ListUsersRequest, User>) {
    store.page(call.request.pageToken, call.request.pageSize || 50).then(
      (rows) => {
        for (const row of rows) call.write(userMessage(row));
        call.end();
      },
      (error: Error) => call.emit('error', { code: status.INTERNAL, details: error.message }),
    );
  },
  createUser(call: ServerUnaryCall<CreateUserRequest, User>, callback: sendUnaryData<User>) {
    store.create(newUserOf(call.request)).then(answer(callback), failed(callback));
  },
  updateUser(call: ServerUnaryCall<UpdateUserRequest, User>, callback: sendUnaryData<User>) {
    const { user, updateMask } = call.request;
    if (!user?.id || updateMask?.join() !== 'name')
      return callback({ code: status.INVALID_ARGUMENT, details: 'renames only' });
    store.rename(user.id, user.name).then(answer(callback), failed(callback));
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announce({ grpc: port }, async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await store.close();
  });
});

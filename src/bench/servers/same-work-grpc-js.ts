// A hand-written grpc-js server doing GetUser's and ListUsers' work as an expert would: the same
// prepared reads (same-work-sql.ts) and the project's static codec, no framework of ours.
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { type ListUsersRequest, type User, UserRole } from '../../gen/users/v1/users.js';
import { userServiceDefinition } from '../../grpc/definition.js';
import { announce, serverSettings } from './entry.js';
import { openReads, type UserRow } from './same-work-sql.js';

const { db } = serverSettings<{ db: string }>();
const reads = openReads(db);
const message = (row: UserRow): User => ({
  id: row.id,
  name: row.name,
  email: row.email,
  role: UserRole[row.role as keyof typeof UserRole],
  tags: JSON.parse(row.tags) as string[],
  createdAt: new Date(Number(row.created_at)),
  updatedAt: new Date(Number(row.updated_at)),
});

const server = new Server();
server.addService(userServiceDefinition, {
  getUser(call: ServerUnaryCall<{ id: string }, User>, callback: sendUnaryData<User>) {
    reads.user(call.request.id).then(
      (row) => (row ? callback(null, message(row)) : callback({ code: status.NOT_FOUND, details: 'not found' })),
      (error: Error) => callback({ code: status.INTERNAL, details: error.message }),
    );
  },
  listUsers(call: ServerWritableStream<ListUsersRequest, User>) {
    reads.page(call.request.pageToken, call.request.pageSize || 50).then(
      (rows) => {
        for (const row of rows) call.write(message(row));
        call.end();
      },
      (error: Error) => call.emit('error', { code: status.INTERNAL, details: error.message }),
    );
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announce({ grpc: port }, async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await reads.close();
  });
});

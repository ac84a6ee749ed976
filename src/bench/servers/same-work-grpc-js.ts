// A hand-written grpc-js server doing GetUser's and ListUsers' work as an expert would: the same
// SQLite reads (better-sqlite3, prepared) and the project's static codec, no framework of ours.
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
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

const server = new Server();
server.addService(userServiceDefinition, {
  getUser(call: ServerUnaryCall<{ id: string }, User>, callback: sendUnaryData<User>) {
    const row = reads.user(call.request.id);
    if (row) callback(null, message(row));
    else callback({ code: status.NOT_FOUND, details: 'not found' });
  },
  listUsers(call: ServerWritableStream<ListUsersRequest, User>) {
    for (const row of reads.page(call.request.pageToken, call.request.pageSize || 50)) call.write(message(row));
    call.end();
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announce({ grpc: port }, async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    reads.close();
  });
});

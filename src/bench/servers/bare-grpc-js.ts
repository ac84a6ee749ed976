// @grpc/grpc-js with the project's codec, answering GetUser with a constant user: our stack minus domain and store.
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { User } from '../../gen/users/v1/users.js';
import { userServiceDefinition } from '../../grpc/definition.js';
import { announce, serverSettings } from './entry.js';

const { userProtobufBase64 } = serverSettings<{ userProtobufBase64: string }>();
const user = User.decode(Buffer.from(userProtobufBase64, 'base64'));
const server = new Server();
server.addService(userServiceDefinition, {
  getUser: (_call: ServerUnaryCall<unknown, User>, callback: sendUnaryData<User>) => callback(null, user),
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announce({ grpc: port }, () => new Promise((resolve) => server.tryShutdown(() => resolve())));
});

// users.v1.UserService from the browser, on this server's port: the Connect protocol (JSON and
// binary) and gRPC-Web, by ConnectRPC's web transports, with protobuf-es types generated from the
// same .proto the server serves.
import { type Client, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import { UserService } from '../../src/gen/users/v1/users_pb.js';
import type { TokenStore } from './token.js';

export type UserClient = Client<typeof UserService>;

export interface RpcClients {
  connectJson: UserClient;
  connectBinary: UserClient;
  grpcWeb: UserClient;
}

export function rpcClients(tokens: TokenStore): RpcClients {
  // Read at each call, so a new token takes effect without new clients.
  const bearer: Interceptor = (next) => (request) => {
    if (tokens.value) request.header.set('authorization', `Bearer ${tokens.value}`);
    return next(request);
  };
  const baseUrl = location.origin;
  const interceptors = [bearer];
  return {
    connectJson: createClient(UserService, createConnectTransport({ baseUrl, interceptors })),
    connectBinary: createClient(UserService, createConnectTransport({ baseUrl, interceptors, useBinaryFormat: true })),
    grpcWeb: createClient(UserService, createGrpcWebTransport({ baseUrl, interceptors })),
  };
}

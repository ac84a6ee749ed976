// UsersApi over tRPC (/trpc), by @trpc/client with the server's router type: the change feed is the
// users.events subscription over SSE. (Being built: see issue 29.)
import type { UsersApi } from './users-api.js';

export interface TrpcClientOptions {
  baseUrl: string;
  token?: string;
}

export function trpcUsersApi(_options: TrpcClientOptions): UsersApi {
  throw new Error('the tRPC client is not built yet');
}

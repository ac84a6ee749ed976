// UsersApi over GraphQL (/graphql): queries and mutations as JSON over HTTP, the change feed as the
// userEvents subscription. (Being built: see issue 29.)
import type { UsersApi } from './users-api.js';

export interface GraphqlClientOptions {
  baseUrl: string;
  token?: string;
}

export function graphqlUsersApi(_options: GraphqlClientOptions): UsersApi {
  throw new Error('the GraphQL client is not built yet');
}

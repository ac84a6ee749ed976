// GraphQL over fetch, as a browser calls it with no client library: a POST of the query and its
// variables with the bearer token. GraphQL answers a failed field with HTTP 200 and `errors`, so
// success is read from the body, not the status; the first error becomes an ApiError with our code
// (`extensions.code`).
import { ApiError } from './rest.js';
import type { TokenStore } from './token.js';

interface GraphqlReply<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export type Graphql = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export function graphqlClient(tokens: TokenStore): Graphql {
  return async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json' });
    if (tokens.value) headers.set('authorization', `Bearer ${tokens.value}`);
    let response: Response;
    try {
      response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    } catch (error) {
      throw new ApiError(0, 'NO_ANSWER', `the server did not answer (${(error as Error).message})`);
    }
    const reply = (await response.json().catch(() => ({}))) as GraphqlReply<T>;
    const [first] = reply.errors ?? [];
    if (first || !reply.data)
      throw new ApiError(
        response.status,
        first?.extensions?.code ?? `HTTP_${response.status}`,
        first?.message ?? response.statusText,
      );
    return reply.data;
  };
}

// tRPC queries over fetch, as @trpc/client's httpLink sends them (no data transformer: plain JSON):
// `GET /trpc/<procedure>?input=<JSON>`, answered `{"result": {"data": …}}` or `{"error": {…}}` with our
// code in `error.data.errorType`. (The typed client needs the router's type, which the console's
// DOM-only build does not compile; the bytes on the wire are the same.)
import { ApiError } from './rest.js';
import type { TokenStore } from './token.js';

interface TrpcReply<T> {
  result?: { data: T };
  error?: { message: string; data?: { code?: string; errorType?: string } };
}

export type TrpcQuery = <T>(procedure: string, input: unknown) => Promise<T>;

export function trpcQuery(tokens: TokenStore): TrpcQuery {
  return async <T>(procedure: string, input: unknown): Promise<T> => {
    const headers = new Headers({ accept: 'application/json' });
    if (tokens.value) headers.set('authorization', `Bearer ${tokens.value}`);
    const url = `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`;
    let response: Response;
    try {
      response = await fetch(url, { headers, cache: 'no-store' });
    } catch (error) {
      throw new ApiError(0, 'NO_ANSWER', `the server did not answer (${(error as Error).message})`);
    }
    const reply = (await response.json().catch(() => ({}))) as TrpcReply<T>;
    if (reply.result) return reply.result.data;
    throw new ApiError(
      response.status,
      reply.error?.data?.errorType ?? reply.error?.data?.code ?? `HTTP_${response.status}`,
      reply.error?.message ?? response.statusText,
    );
  };
}

// UsersApi over GraphQL (/graphql): queries and mutations as JSON over HTTP, the change feed as the
// userEvents subscription over SSE (/graphql/stream, graphql-sse's distinct-connections format).
// Errors are read from `errors[0].extensions`: the catalogue code is both the code and the status.
import { SseParser } from '../rest/sse-parser.js';
import { clientEvent, ClientError, type ClientUser, type UserInput, type UsersApi } from './users-api.js';

export interface GraphqlClientOptions {
  baseUrl: string;
  token?: string;
}

const USER = 'id name email role tags createdAt updatedAt revision etag';
/**
 * Users per page: written into the query (a literal, not a variable), since the server counts a
 * `first` it cannot see before the query runs as the most a page may hold (500), which with every
 * field of a user is past its default complexity limit.
 */
const PAGE_SIZE = 100;

const QUERIES = {
  getUser: `query user($id: ID!) { user(id: $id) { ${USER} } }`,
  users: `query users($after: String, $filter: String) {
  users(first: ${PAGE_SIZE}, after: $after, filter: $filter) { edges { node { ${USER} } } pageInfo { hasNextPage endCursor } revision }
}`,
  createUser: `mutation createUser($input: NewUser!, $key: String) { createUser(input: $input, idempotencyKey: $key) { ${USER} } }`,
  createUsers: `mutation createUsers($inputs: [NewUser!]!, $key: String) { createUsers(inputs: $inputs, idempotencyKey: $key) { ${USER} } }`,
  updateUser: `mutation updateUser($id: ID!, $changes: UserChanges!, $ifMatch: String) { updateUser(id: $id, changes: $changes, ifMatch: $ifMatch) { ${USER} } }`,
  deleteUser: `mutation deleteUser($id: ID!, $ifMatch: String) { deleteUser(id: $id, ifMatch: $ifMatch) }`,
  userEvents: `subscription userEvents($afterRevision: String, $userIds: [ID!], $bookmarks: Boolean) {
  userEvents(afterRevision: $afterRevision, userIds: $userIds, bookmarks: $bookmarks) { type revision user { ${USER} } }
}`,
};

interface WireUser extends Omit<ClientUser, 'revision'> {
  revision: string;
}

interface WireError {
  message?: string;
  extensions?: {
    code?: string;
    violations?: { field: string; description: string }[];
    metadata?: Record<string, string>;
  };
}

interface Page {
  edges: { node: WireUser }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  revision: string;
}

const fromWire = (user: WireUser): ClientUser => ({ ...user, revision: Number(user.revision) });

/** The first error of a GraphQL response, as a ClientError (GraphQL's status is the code itself). */
export function graphqlError(errors: readonly WireError[], httpStatus: number): ClientError {
  const [first] = errors;
  const code = first?.extensions?.code ?? '';
  return new ClientError(
    code,
    code || httpStatus,
    first?.extensions?.violations ?? [],
    first?.extensions?.metadata ?? {},
    first?.message ?? `HTTP ${httpStatus}`,
  );
}

/** A response body that is not GraphQL's (a proxy's error page, a 404): the HTTP status alone. */
async function bodyOf(response: Response): Promise<{ data?: Record<string, unknown> | null; errors?: WireError[] }> {
  const text = await response.text();
  try {
    return JSON.parse(text) as { data?: Record<string, unknown>; errors?: WireError[] };
  } catch {
    throw new ClientError('', response.status, [], {}, `HTTP ${response.status}: not a GraphQL response`);
  }
}

const inputOf = ({ name, email, role, tags }: UserInput) => ({
  ...(name === undefined ? {} : { name }),
  ...(email === undefined ? {} : { email }),
  ...(role === undefined ? {} : { role }),
  ...(tags === undefined ? {} : { tags }),
});

export function graphqlUsersApi({ baseUrl, token }: GraphqlClientOptions): UsersApi {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };

  async function call<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = await bodyOf(response);
    if (body.errors && body.errors.length > 0) throw graphqlError(body.errors, response.status);
    if (!response.ok || !body.data) throw graphqlError([], response.status);
    return body.data as T;
  }

  async function page(filter: string | undefined, after: string | null): Promise<Page> {
    return (await call<{ users: Page }>(QUERIES.users, { after, filter: filter ?? null })).users;
  }

  async function* pages(filter?: string): AsyncGenerator<Page> {
    let after: string | null = null;
    for (;;) {
      const next: Page = await page(filter, after);
      yield next;
      if (!next.pageInfo.hasNextPage) return;
      after = next.pageInfo.endCursor;
    }
  }

  return {
    protocol: 'graphql',
    createUser: async (input, options) =>
      fromWire(
        (
          await call<{ createUser: WireUser }>(QUERIES.createUser, {
            input: inputOf(input),
            key: options?.idempotencyKey ?? null,
          })
        ).createUser,
      ),
    getUser: async (id) => {
      const { user } = await call<{ user: WireUser | null }>(QUERIES.getUser, { id });
      if (!user) throw new ClientError('USER_NOT_FOUND', 'USER_NOT_FOUND', [], { id }, `user ${id} not found`);
      return fromWire(user);
    },
    updateUser: async (id, changes, options) =>
      fromWire(
        (
          await call<{ updateUser: WireUser }>(QUERIES.updateUser, {
            id,
            changes: inputOf(changes),
            ifMatch: options?.ifMatch ?? null,
          })
        ).updateUser,
      ),
    deleteUser: async (id, options) => {
      await call(QUERIES.deleteUser, { id, ifMatch: options?.ifMatch ?? null });
    },
    createUsers: async (inputs, options) =>
      (
        await call<{ createUsers: WireUser[] }>(QUERIES.createUsers, {
          inputs: inputs.map(inputOf),
          key: options?.idempotencyKey ?? null,
        })
      ).createUsers.map(fromWire),
    async listing(filter) {
      const users: ClientUser[] = [];
      let revision: number | undefined;
      for await (const next of pages(filter)) {
        revision ??= Number(next.revision);
        users.push(...next.edges.map((e) => fromWire(e.node)));
      }
      return { users, revision: revision! };
    },
    async *listUsers(filter) {
      for await (const next of pages(filter)) yield* next.edges.map((e) => fromWire(e.node));
    },
    async *watch({ afterRevision, userIds, bookmarks, signal }) {
      const variables = {
        afterRevision: afterRevision === undefined ? null : String(afterRevision),
        userIds: userIds ?? null,
        bookmarks: bookmarks ?? null,
      };
      let response: Response;
      try {
        response = await fetch(`${baseUrl}/graphql/stream`, {
          method: 'POST',
          headers: { ...headers, accept: 'text/event-stream' },
          body: JSON.stringify({ query: QUERIES.userEvents, variables }),
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
      if (!response.ok || !response.body) {
        const body = await bodyOf(response);
        throw graphqlError(body.errors ?? [], response.status);
      }
      const parser = new SseParser();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
          for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
            if (message.event === 'complete') return;
            if (message.event !== 'next') continue;
            const result = JSON.parse(message.data ?? '{}') as {
              data?: { userEvents?: { type: string; revision: string; user: WireUser | null } };
              errors?: WireError[];
            };
            if (result.errors && result.errors.length > 0) throw graphqlError(result.errors, 200);
            const event = result.data?.userEvents;
            if (!event) continue;
            const read = clientEvent(event.type, Number(event.revision), () => fromWire(event.user!));
            if (read) yield read;
          }
        }
      } catch (error) {
        if (!signal?.aborted) throw error;
        return;
      }
      // The connection ended without the server's `complete`: a dropped stream, not the watch's end.
      if (!signal?.aborted) {
        throw new ClientError(
          'UNAVAILABLE',
          'UNAVAILABLE',
          [],
          {},
          'the event stream ended before the server ended it',
        );
      }
    },
    close: () => undefined,
  };
}

// GraphQL's own: its errors (request-level refusals with an HTTP status, field errors beside data),
// the limits against the classic abuse, persisted and known queries, per-request batching of
// user(id:) reads, the subscription over SSE (resume, shutdown), telemetry and the explorer. What
// holds on every protocol runs over GraphQL in the behaviour, consistency and access suites.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { graphqlUsersApi } from '../src/clients/graphql.js';
import { ClientError } from '../src/clients/users-api.js';
import { rpcStatusOf } from '../src/contract/rpc-status.js';
import { ErrorCode } from '../src/domain/errors.js';
import { HTTP_STATUS_OF as GRAPHQL_HTTP_STATUS_OF } from '../src/graphql/errors.js';
import { sha256 } from '../src/graphql/persisted.js';
import { GRAPHQL_OPEN_ROUTES } from '../src/graphql/routes.js';
import { CONNECT_CODE_OF, codeName } from '../src/connect/errors.js';
import { HTTP_STATUS_OF } from '../src/rest/errors.js';
import { thrown } from './support/failures.js';
import { aUser, consecutive, take, tempDir, until } from './support/helpers.js';
import { startStack, type Stack } from './support/stack.js';
import { ADMIN_TOKEN, bearer, tokenOf } from './support/tokens.js';

interface Reply {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: {
      message: string;
      extensions: { code: string; violations: { field: string }[]; metadata: Record<string, string> };
    }[];
  };
}

/** POSTs `request` (a GraphQL request, or any JSON) to /graphql. */
async function gql(stack: Stack, request: unknown, token: string | undefined = ADMIN_TOKEN): Promise<Reply> {
  const response = await fetch(`${stack.baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? bearer(token) : {}) },
    body: typeof request === 'string' ? request : JSON.stringify(request),
  });
  return { status: response.status, body: (await response.json()) as Reply['body'] };
}

const codes = (reply: Reply) => reply.body.errors?.map((e) => e.extensions.code);

const stack = await startStack();

describe('GraphQL errors', () => {
  it('answers a refused token 401 with a GraphQL body, before reading the query', async () => {
    const none = await gql(stack, { query: '{ users { revision } }' }, '');
    assert.equal(none.status, 401);
    assert.deepEqual(codes(none), [ErrorCode.UNAUTHENTICATED]);
    const bad = await gql(stack, 'not even json', 'not-a-token');
    assert.equal(bad.status, 401);
  });

  it('says a domain error of a field in extensions, beside the data of the others (HTTP 200)', async () => {
    const user = await stack.app.service.createUser(aUser());
    // Three times: from the second, Mercurius runs it compiled by graphql-jit, which must say the same.
    for (let run = 0; run < 3; run++) {
      const reply = await gql(stack, {
        query: 'query ($a: ID!, $b: ID!) { a: user(id: $a) { name } b: user(id: $b) { name } }',
        variables: { a: user.id, b: 'no-such-user' },
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body.data, { a: { name: user.name }, b: null });
      assert.deepEqual(codes(reply), [ErrorCode.USER_NOT_FOUND]);
      assert.deepEqual(reply.body.errors![0]!.extensions.metadata, { id: 'no-such-user' });
      assert.deepEqual((reply.body.errors![0] as { path?: unknown }).path, ['b']);
    }
  });

  it('names bad fields as the domain does, and refuses a role the contract does not have on `role`', async () => {
    const reply = await gql(stack, {
      query: 'mutation ($u: NewUser!) { createUser(input: $u) { id } }',
      variables: { u: { name: '', email: 'nope', role: 'USER_ROLE_ROOT' } },
    });
    assert.deepEqual(codes(reply), [ErrorCode.INVALID_ARGUMENT]);
    const fields = reply.body.errors![0]!.extensions.violations.map((v) => v.field).sort();
    assert.deepEqual(fields, ['email', 'name', 'role']);
  });

  it('refuses a malformed body, a syntax error, an unknown field and bad variables with 400 and INVALID_ARGUMENT', async () => {
    for (const request of [
      '{"query": ',
      '{"query": 42}',
      '{"__proto__": {"query": "{ __typename }"}}',
      { query: '{ users { ' },
      { query: '{ nope }' },
      { query: 'query ($id: ID!) { user(id: $id) { id } }', variables: {} },
      { query: '{ user(id: "x") { id } }', variables: '[1' },
    ]) {
      const reply = await gql(stack, request);
      assert.equal(reply.status, 400, JSON.stringify(request));
      assert.deepEqual(codes(reply)?.[0], ErrorCode.INVALID_ARGUMENT, JSON.stringify(request));
    }
  });

  it('refuses what cannot run as a whole with 400: a subscription here, no operation or an unknown one named, no query, GET variables that are no object', async () => {
    const subscription = await gql(stack, { query: 'subscription { userEvents { type } }' });
    assert.equal(subscription.status, 400);
    assert.match(subscription.body.errors![0]!.message, /\/graphql\/stream/, 'it says where subscriptions go');
    for (const request of [
      { query: 'query A { __typename } query B { __typename }' },
      { query: 'query A { __typename }', operationName: 'C' },
    ]) {
      const reply = await gql(stack, request);
      assert.equal(reply.status, 400, JSON.stringify(request));
      assert.deepEqual(codes(reply), [ErrorCode.INVALID_ARGUMENT], JSON.stringify(request));
    }
    const empty = await gql(stack, {});
    assert.equal(empty.status, 400);
    assert.equal(empty.body.errors![0]!.extensions.metadata.reason, 'MALFORMED_REQUEST', 'not PersistedQueryNotFound');
    const query = encodeURIComponent('query ($f: Int) { users(first: $f) { revision } }');
    const array = await fetch(`${stack.baseUrl}/graphql?query=${query}&variables=${encodeURIComponent('[1]')}`, {
      headers: bearer(ADMIN_TOKEN),
    });
    assert.equal(array.status, 400);
  });

  it('sends WWW-Authenticate with a 401 and Retry-After with a 429, as REST does', async () => {
    const refused = await fetch(`${stack.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": "{ __typename }"}',
    });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer /);
    const limited = await startStack({ 'rate-limit-rps': '1', 'rate-limit-burst': '1' });
    const token = await tokenOf('admin', 'graphql-rate');
    const ask = () => gql(limited, { query: '{ __typename }' }, token);
    assert.equal((await ask()).status, 200);
    const over = await fetch(`${limited.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: '{"query": "{ __typename }"}',
    });
    assert.equal(over.status, 429);
    assert.match(over.headers.get('retry-after') ?? '', /^\d+$/);
    await limited.close();
  });

  it('refuses a mutation sent with GET (405) and serves a query sent with GET', async () => {
    const get = (query: string) =>
      fetch(`${stack.baseUrl}/graphql?query=${encodeURIComponent(query)}`, { headers: bearer(ADMIN_TOKEN) });
    const mutation = await get('mutation { deleteUser(id: "x") }');
    assert.equal(mutation.status, 405);
    const query = await get('{ users(first: 1) { revision } }');
    assert.equal(query.status, 200);
    assert.match(((await query.json()) as { data: { users: { revision: string } } }).data.users.revision, /^\d+$/);
  });

  it('answers INTERNAL with nothing of the cause, and logs it', async () => {
    const logs: { msg: string }[] = [];
    const own = await startStack({}, { logs: logs as never });
    (own.app.service as unknown as { listUsers: () => never }).listUsers = () => {
      throw new Error('secret cause');
    };
    const reply = await gql(own, { query: '{ users { revision } }' });
    assert.deepEqual(codes(reply), [ErrorCode.INTERNAL]);
    assert.equal(reply.body.errors![0]!.message, 'internal error');
    assert.ok(!JSON.stringify(reply.body).includes('secret'));
    await own.close();
  });

  it('answers a request refused as a whole with the status REST gives its code', () => {
    for (const code of Object.values(ErrorCode)) assert.equal(GRAPHQL_HTTP_STATUS_OF[code], HTTP_STATUS_OF[code], code);
  });

  it('reports calls with the gRPC-style status name Connect uses for the same code', () => {
    for (const code of Object.values(ErrorCode)) assert.equal(rpcStatusOf(code), codeName(CONNECT_CODE_OF[code]), code);
  });
});

describe('GraphQL limits', () => {
  it('refuses deep nesting, an introspection cycle, an alias fan-out, a huge first and a batch, each with a clear error', async () => {
    const cycle = `{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }`;
    const fanOut = `{ ${Array.from({ length: 400 }, (_, i) => `u${i}: user(id: "x") { id name email role tags }`).join(' ')} }`;
    const cases: [unknown, number, RegExp][] = [
      [{ query: cycle }, 400, /nests 10 levels deep; this server serves at most 8/],
      [{ query: fanOut }, 400, /may select 2400 fields/],
      [{ query: '{ users(first: 500) { edges { node { id name email role tags createdAt } } } }' }, 400, /may select/],
      [Array.from({ length: 1000 }, () => ({ query: '{ __typename }' })), 400, /batched operations are not served/],
      [{ query: `{ ${'__typename '.repeat(20_000)} }` }, 400, /Document contains more tha[nt] 10000 tokens/],
    ];
    for (const [request, status, message] of cases) {
      const started = Date.now();
      const reply = await gql(stack, request);
      assert.equal(reply.status, status, JSON.stringify(reply.body).slice(0, 300));
      assert.equal(codes(reply)?.[0], ErrorCode.INVALID_ARGUMENT);
      assert.match(reply.body.errors![0]!.message, message);
      assert.ok(Date.now() - started < 2000, 'refused promptly');
    }
  });

  it('refuses a body over the limit with 413', async () => {
    const own = await startStack({ 'rest-body-limit-bytes': '1024' });
    const reply = await gql(own, { query: `{ __typename } # ${'x'.repeat(2000)}` });
    assert.equal(reply.status, 413);
    assert.equal(codes(reply)?.[0], ErrorCode.INVALID_ARGUMENT);
  });
});

describe('GraphQL persisted queries', () => {
  const query = '{ users(first: 1) { revision } }';
  const persisted = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };

  it('automatic: a hash it does not know is PersistedQueryNotFound; sent with its text once, the hash alone serves', async () => {
    const unknown = await gql(stack, { extensions: persisted });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors![0]!.message, 'PersistedQueryNotFound');
    assert.equal(unknown.body.errors![0]!.extensions.metadata.reason, 'PERSISTED_QUERY_NOT_FOUND');
    assert.equal((await gql(stack, { query, extensions: persisted })).status, 200);
    const hashed = await gql(stack, { extensions: persisted });
    assert.equal(hashed.status, 200);
    assert.ok(hashed.body.data?.users);
    const mismatch = await gql(stack, { query: '{ __typename }', extensions: persisted });
    assert.equal(mismatch.status, 400);
  });

  it('a known-queries file: only its queries are served, by hash or by text', async () => {
    const file = join(tempDir(), 'known.json');
    writeFileSync(file, JSON.stringify({ [sha256(query)]: query }));
    const own = await startStack({ 'graphql-known-queries-file': file });
    assert.equal((await gql(own, { extensions: persisted })).status, 200);
    assert.equal((await gql(own, { query })).status, 200);
    const other = await gql(own, { query: '{ __typename }' });
    assert.equal(other.status, 400);
    assert.equal(other.body.errors![0]!.extensions.metadata.reason, 'UNKNOWN_QUERY');
    const unknownHash = await gql(own, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('x') } } });
    assert.equal(unknownHash.body.errors![0]!.message, 'PersistedQueryNotFound');
  });
});

describe('GraphQL batching', () => {
  it('reads the user(id:) fields of a request in one store read, each field answered as getUser would', async () => {
    const [x, y] = await stack.app.service.createUsers([aUser(), aUser()]);
    const service = stack.app.service;
    const batches: string[][] = [];
    const getUsers = service.getUsers.bind(service);
    const getUser = service.getUser.bind(service);
    service.getUsers = (ids, context) => {
      batches.push([...ids]);
      return getUsers(ids, context);
    };
    service.getUser = () => assert.fail('each read is batched');
    const query = `{ a: user(id: "${x!.id}") { name } b: user(id: "${y!.id}") { name } c: user(id: "${x!.id}") { name }
      d: user(id: "missing") { name } e: user(id: "") { name } }`;
    try {
      // Three times: from the second, Mercurius runs it compiled by graphql-jit, which must batch the same.
      for (let run = 0; run < 3; run++) {
        batches.length = 0;
        const reply = await gql(stack, { query });
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.body.data, {
          a: { name: x!.name },
          b: { name: y!.name },
          c: { name: x!.name },
          d: null,
          e: null,
        });
        // One read, each id once; the bad id never joins it, and fails its own field only.
        assert.deepEqual(batches, [[x!.id, y!.id, 'missing']]);
        const errors = Object.fromEntries(
          reply.body.errors!.map((e) => [(e as { path?: string[] }).path!.join('.'), e.extensions]),
        );
        assert.deepEqual(Object.keys(errors).sort(), ['d', 'e']);
        assert.equal(errors.d!.code, ErrorCode.USER_NOT_FOUND);
        assert.deepEqual(errors.d!.metadata, { id: 'missing' });
        assert.equal(errors.e!.code, ErrorCode.INVALID_ARGUMENT);
        assert.deepEqual(
          errors.e!.violations.map((v) => v.field),
          ['id'],
        );
      }
    } finally {
      service.getUsers = getUsers;
      service.getUser = getUser;
    }
  });
});

describe('GraphQL subscription', () => {
  it('resumes after a revision with no gap or duplicate, with each event id its revision', async () => {
    const api = graphqlUsersApi({ baseUrl: stack.baseUrl, token: ADMIN_TOKEN });
    const first = await api.createUser(aUser());
    const stop = new AbortController();
    const created = await api.createUsers([aUser(), aUser(), aUser()]);
    const resumed = await take(api.watch({ afterRevision: first.revision, bookmarks: false, signal: stop.signal }), 3);
    stop.abort();
    assert.deepEqual(
      resumed.map((e) => e.revision),
      consecutive(first.revision + 1, 3),
    );
    assert.deepEqual(
      resumed.map((e) => (e.type === 'EVENT_TYPE_BOOKMARK' ? '' : e.user.id)),
      created.map((u) => u.id),
    );
    // The wire: graphql-sse's `next` events, id: the revision.
    const response = await fetch(`${stack.baseUrl}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(ADMIN_TOKEN) },
      body: JSON.stringify({
        query: 'subscription ($r: String) { userEvents(afterRevision: $r, bookmarks: false) { type revision } }',
        variables: { r: String(first.revision) },
      }),
    });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes(`id: ${first.revision + 1}\n`)) break;
    }
    assert.match(
      text,
      new RegExp(
        `id: ${first.revision + 1}\nevent: next\ndata: \\{"data":\\{"userEvents":\\{"type":"EVENT_TYPE_CREATED","revision":"${first.revision + 1}"\\}\\}\\}\n\n`,
      ),
    );
  });

  it('refuses a revision not yet reached on after_revision, a query on the stream, and no token with 401', async () => {
    const api = graphqlUsersApi({ baseUrl: stack.baseUrl, token: ADMIN_TOKEN });
    const ahead = await thrown(take(api.watch({ afterRevision: 1e12 }), 1));
    assert.ok(ahead instanceof ClientError);
    assert.equal(ahead.code, ErrorCode.INVALID_ARGUMENT);
    assert.deepEqual(ahead.fields, ['after_revision']);
    const refused = await thrown(take(graphqlUsersApi({ baseUrl: stack.baseUrl }).watch({}), 1));
    assert.ok(refused instanceof ClientError);
    assert.equal(refused.code, ErrorCode.UNAUTHENTICATED);
    const query = await fetch(`${stack.baseUrl}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(ADMIN_TOKEN) },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    assert.equal(query.status, 400);
    // Variables that do not coerce refuse the request as a whole, as on /graphql: no stream opens.
    const variables = await fetch(`${stack.baseUrl}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(ADMIN_TOKEN) },
      body: JSON.stringify({
        query: 'subscription ($a: String) { userEvents(afterRevision: $a) { type } }',
        variables: { a: 5 },
      }),
    });
    assert.equal(variables.status, 400);
    assert.equal(((await variables.json()) as Reply['body']).errors![0]!.extensions.code, ErrorCode.INVALID_ARGUMENT);
  });

  it('ends with UNAUTHENTICATED when the token expires while it is open', async () => {
    const token = await tokenOf('admin', 'admin', '2s');
    const api = graphqlUsersApi({ baseUrl: stack.baseUrl, token });
    const error = await thrown(take(api.watch({ bookmarks: false }), 1, 10_000));
    assert.ok(error instanceof ClientError, String(error));
    assert.equal(error.code, ErrorCode.UNAUTHENTICATED);
  });

  it('is counted while open, and ends with UNAVAILABLE at shutdown', async () => {
    const own = await startStack();
    const api = graphqlUsersApi({ baseUrl: own.baseUrl, token: ADMIN_TOKEN });
    const user = await api.createUser(aUser());
    const watch = api.watch({ afterRevision: 0, bookmarks: false });
    const iterator = watch[Symbol.asyncIterator]();
    assert.equal(((await iterator.next()).value as { user: { id: string } }).user.id, user.id);
    assert.equal(own.rest.streams.graphql.size, 1);
    assert.equal(own.rest.streams.graphql.delivered, 1);
    const ending = thrown(iterator.next());
    await own.close();
    const error = await ending;
    assert.ok(error instanceof ClientError, String(error));
    assert.equal(error.code, ErrorCode.UNAVAILABLE);
    await until(() => own.rest.streams.graphql.size === 0, 'the stream to be released');
  });
});

describe('GraphQL explorer', () => {
  it('serves GraphiQL and its files from this origin, naming no other', async () => {
    assert.deepEqual(GRAPHQL_OPEN_ROUTES, [
      '/graphiql',
      '/graphiql/react.js',
      '/graphiql/react-dom.js',
      '/graphiql/graphiql.js',
      '/graphiql/graphiql.css',
    ]);
    // (With a token until the access hook's OPEN_ROUTES takes GRAPHQL_OPEN_ROUTES.)
    const page = await fetch(`${stack.baseUrl}/graphiql`); // open: no token needed to load it
    assert.equal(page.status, 200);
    const html = await page.text();
    const linked = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(linked.sort(), GRAPHQL_OPEN_ROUTES.slice(1).sort());
    assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//);
    for (const path of linked) {
      const asset = await fetch(`${stack.baseUrl}${path}`);
      assert.equal(asset.status, 200, path);
      const body = await asset.text();
      assert.ok(body.length > 1000, path);
      assert.doesNotMatch(body, /sourceMappingURL/, path);
    }
    const openapi = (await (await fetch(`${stack.baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(!Object.keys(openapi.paths).some((p) => p.includes('graph')), 'not in the OpenAPI document');
  });
});

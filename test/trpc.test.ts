// What is tRPC's own: the wire (plain JSON, GET queries with ?input=, batches, SSE subscriptions
// with tracked ids), the errors tRPC itself raises in the catalogue's words, refusals in tRPC's
// shape and status, and the subscription's resume by Last-Event-ID. What must hold on every
// protocol is in the behaviour, consistency and access suites, which run over tRPC too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from '../src/app/free-port.js';
import { ClientError, type ClientEvent } from '../src/clients/users-api.js';
import { trpcUsersApi } from '../src/clients/trpc.js';
import { ErrorCode } from '../src/domain/errors.js';
import { TRPC_CODE_OF } from '../src/trpc/errors.js';
import { thrown } from './support/failures.js';
import { aUser, consecutive, take, until } from './support/helpers.js';
import { openSse } from './support/sse.js';
import { startStack } from './support/stack.js';
import { ADMIN_TOKEN, bearer, tokenOf } from './support/tokens.js';

interface ErrorShape {
  code: number;
  message: string;
  data: {
    code: string;
    httpStatus: number;
    path?: string;
    errorType: string;
    violations: { field: string; description: string }[];
    metadata: Record<string, string>;
    stack?: unknown;
  };
}
type Answer<T = unknown> = { result: { data: T } } | { error: ErrorShape };

const stack = await startStack({ 'rest-body-limit-bytes': '4096', 'sse-heartbeat-ms': '200' }, { metrics: true });
const url = (path: string) => `${stack.baseUrl}/trpc/${path}`;
const input = (value: unknown) => `input=${encodeURIComponent(JSON.stringify(value))}`;

async function call<T = unknown>(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url(path), { ...init, headers: { ...bearer(ADMIN_TOKEN), ...init.headers } });
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  call<Answer>(path, { method: 'POST', body, headers });

/** The error of a single call's answer, with its HTTP status. */
async function failure(answer: Promise<{ status: number; body: Answer }>): Promise<ErrorShape & { status: number }> {
  const { status, body } = await answer;
  assert.ok('error' in body, `an error, not ${JSON.stringify(body)}`);
  assert.equal(body.error.data.stack, undefined, 'never a stack');
  assert.equal(body.error.data.httpStatus, status);
  return { ...body.error, status };
}

describe('tRPC: the wire', () => {
  it('serves queries by GET with ?input= and mutations by POST, as plain JSON with revisions as strings', async () => {
    await stack.app.service.createUser(aUser());
    const created = await post('users.create', JSON.stringify(aUser({ tags: ['x'] })));
    assert.equal(created.status, 200);
    assert.ok('result' in created.body);
    const user = created.body.result.data as { id: string; revision: string; etag: string; role: string };
    assert.match(user.revision, /^\d+$/, 'int64 as digits in a string');
    assert.equal(user.etag, `"r${user.revision}"`);
    assert.equal(user.role, 'USER_ROLE_USER');

    const got = await call<Answer>(`users.get?${input({ id: user.id })}`);
    assert.deepEqual(got.body, { result: { data: user } });
    const listed = await call<Answer<{ users: unknown[]; nextPageToken: string; revision: string }>>(
      `users.list?${input({ pageSize: 1 })}`,
    );
    assert.ok('result' in listed.body);
    assert.equal(listed.body.result.data.users.length, 1);
    assert.match(listed.body.result.data.revision, /^\d+$/);
    assert.notEqual(listed.body.result.data.nextPageToken, '');
  });

  it('answers a batch of several procedures in one request, each reported to telemetry on its own', async () => {
    const [a, b] = await stack.app.service.createUsers([aUser(), aUser()]);
    const batch = await call<Answer[]>(
      `users.get,users.get,users.list?batch=1&${input({ 0: { id: a!.id }, 1: { id: b!.id }, 2: { pageSize: 1 } })}`,
    );
    assert.equal(batch.status, 200);
    assert.equal(batch.body.length, 3);
    assert.deepEqual(
      batch.body.map((answer) => ('result' in answer ? (answer.result.data as { id?: string }).id : 'error')),
      [a!.id, b!.id, undefined],
    );
    // One call of the batch fails: each answer stands alone, and the status says they differ (207).
    const mixed = await call<Answer[]>(
      `users.get,users.get?batch=1&${input({ 0: { id: a!.id }, 1: { id: 'nobody' } })}`,
    );
    assert.equal(mixed.status, 207);
    assert.ok('error' in mixed.body[1]!);
    assert.equal(mixed.body[1].error.data.errorType, ErrorCode.USER_NOT_FOUND);

    const metrics = await (await fetch(stack.metricsUrl)).text();
    const count = (method: string, status: string) =>
      Number(
        new RegExp(
          `rpc_server_call_duration_seconds_count\\{[^}]*rpc_system_name="trpc",rpc_method="${method}",rpc_response_status_code="${status}"[^}]*\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    assert.ok(count('users.get', 'OK') >= 3, 'each call of a batch is one call');
    assert.ok(count('users.list', 'OK') >= 1);
    assert.ok(count('users.get', 'NOT_FOUND') >= 1);
  });

  it('streams users.events as SSE: each event tracked by its revision, resumed after Last-Event-ID with no gap or duplicate', async () => {
    const [first] = await stack.app.service.createUsers([aUser()]);
    const others = await stack.app.service.createUsers([aUser(), aUser(), aUser()]);
    const path = `/trpc/users.events?${input({ afterRevision: String(first!.revision), bookmarks: false })}`;
    const sse = openSse(stack.baseUrl, path);
    assert.equal((await sse.response).headers['content-type'], 'text/event-stream');
    const events = (await sse.waitFor(4)).filter((m) => m.event === undefined);
    const data = events.map(
      (m) => JSON.parse(m.data ?? '') as { type: string; revision: string; user: { id: string } },
    );
    assert.deepEqual(
      events.map((m) => Number(m.id)),
      consecutive(first!.revision + 1, 3),
    );
    assert.deepEqual(
      data.map((d) => d.revision),
      events.map((m) => m.id),
    );
    assert.deepEqual(
      data.map((d) => d.user.id),
      others.map((u) => u.id),
    );
    assert.equal(sse.messages[0]?.event, 'connected', "tRPC's first event");
    sse.close();
    // A reconnect names the last event it had: the stream goes on right after it.
    const resumed = openSse(stack.baseUrl, path, { ...bearer(ADMIN_TOKEN), 'last-event-id': events[1]!.id! });
    const [, next] = await resumed.waitFor(2);
    assert.equal(Number(next!.id), first!.revision + 3);
    resumed.close();
  });

  it('sends ping events on a quiet subscription (the heartbeat) and bookmarks as EVENT_TYPE_BOOKMARK', async () => {
    const sse = openSse(stack.baseUrl, `/trpc/users.events?${input({})}`);
    await until(() => sse.messages.some((m) => m.event === 'ping'), 'a ping');
    sse.close();
    const bookmarking = await startStack({ 'bookmark-interval-ms': '100' });
    const quiet = openSse(
      bookmarking.baseUrl,
      `/trpc/users.events?${input({ userIds: ['01a21000-0000-7000-8000-000000000000'] })}`,
    );
    await until(() => quiet.messages.some((m) => m.data?.includes('EVENT_TYPE_BOOKMARK') === true), 'a bookmark');
    const bookmark = quiet.messages.find((m) => m.data?.includes('EVENT_TYPE_BOOKMARK'))!;
    assert.deepEqual(JSON.parse(bookmark.data!), { type: 'EVENT_TYPE_BOOKMARK', revision: bookmark.id });
    quiet.close();
  });
});

describe("tRPC: errors in tRPC's terms, with our code in data.errorType", () => {
  it("answers tRPC's own failures with the catalogue's codes", async () => {
    const cases: [string, Promise<{ status: number; body: Answer }>, number, string, string][] = [
      ['bad JSON body', post('users.create', '{"name":'), 400, 'PARSE_ERROR', 'MALFORMED_BODY'],
      ['bad JSON ?input=', call('users.get?input=%7Bnope'), 400, 'PARSE_ERROR', 'MALFORMED_BODY'],
      ['no such procedure', call('users.nope'), 404, 'NOT_FOUND', 'ROUTE_NOT_FOUND'],
      ['a mutation by GET', call(`users.create?${input(aUser())}`), 405, 'METHOD_NOT_SUPPORTED', 'ROUTE_NOT_FOUND'],
      ['a query by POST', post('users.get', '{"id":"x"}'), 405, 'METHOD_NOT_SUPPORTED', 'ROUTE_NOT_FOUND'],
      [
        'a body past the limit',
        post('users.create', JSON.stringify(aUser({ name: 'x'.repeat(5000) }))),
        413,
        'PAYLOAD_TOO_LARGE',
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'a body that is not JSON',
        post('users.create', 'name=x', { 'content-type': 'text/plain' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'UNSUPPORTED_MEDIA_TYPE',
      ],
    ];
    for (const [name, answer, status, code, errorType] of cases) {
      const error = await failure(answer);
      assert.deepEqual([error.status, error.data.code, error.data.errorType], [status, code, errorType], name);
    }
  });

  it('refuses a bad input shape as INVALID_ARGUMENT naming each field as the domain names it', async () => {
    const cases: [string, Promise<{ status: number; body: Answer }>, string[]][] = [
      ['a number for a name', post('users.create', JSON.stringify({ ...aUser(), name: 5 })), ['name']],
      ['a field it does not have', post('users.create', JSON.stringify({ ...aUser(), nickname: 'x' })), ['nickname']],
      ['tags not strings', post('users.create', JSON.stringify({ ...aUser(), tags: [1] })), ['tags']],
      ['no object at all', post('users.create', '[1]'), ['input']],
      [
        "a batch item's field",
        post('users.createMany', JSON.stringify({ users: [aUser(), { ...aUser(), email: 7 }] })),
        ['users[1].email'],
      ],
      ['a batch without users', post('users.createMany', '{}'), ['users']],
      ['a page size that is no number', call(`users.list?${input({ pageSize: 'ten' })}`), ['pageSize']],
      // Shapes pass, the domain refuses: the same rules as every protocol.
      [
        'an empty name and a bad email',
        post('users.create', JSON.stringify({ name: '', email: 'nope' })),
        ['email', 'name'],
      ],
      [
        'a role the contract does not have',
        post('users.create', JSON.stringify({ ...aUser(), role: 'USER_ROLE_UNKNOWN' })),
        ['role'],
      ],
      [
        'an update of nothing',
        post('users.update', JSON.stringify({ id: '01a21000-0000-7000-8000-000000000000' })),
        ['input'],
      ],
      ['a bad etag', post('users.delete', JSON.stringify({ id: 'x', etag: 'W/nope' })), ['etag']],
    ];
    for (const [name, answer, fields] of cases) {
      const error = await failure(answer);
      assert.equal(error.status, 400, name);
      assert.deepEqual([error.data.code, error.data.errorType], ['BAD_REQUEST', 'INVALID_ARGUMENT'], name);
      assert.deepEqual(error.data.violations.map((v) => v.field).sort(), fields, name);
    }
  });

  it('refuses a caller without a valid token: 401 UNAUTHORIZED, WWW-Authenticate, the body never read', async () => {
    for (const headers of [{}, bearer('not.a.token')]) {
      const response = await fetch(url(`users.get?${input({ id: 'x' })}`), { headers });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer /);
      const { error } = (await response.json()) as { error: ErrorShape };
      assert.deepEqual([error.data.code, error.data.errorType], ['UNAUTHORIZED', 'UNAUTHENTICATED']);
    }
    // Refused before its body is read: a body that is not even JSON is not what it is told.
    const refused = await fetch(url('users.create'), {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(refused.status, 401);
    // Nor what exists and what it takes: no procedure, a wrong method, another media type are all 401 first.
    for (const [path, init] of [
      ['users.nope', {}],
      ['users.create', {}],
      ['users.create', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }],
    ] as const) {
      assert.equal((await fetch(url(path), init)).status, 401, `${path} ${JSON.stringify(init)}`);
    }
    const api = trpcUsersApi({ baseUrl: stack.baseUrl });
    const error = await thrown(api.getUser('x'));
    assert.ok(error instanceof ClientError);
    assert.deepEqual([error.code, error.status], [ErrorCode.UNAUTHENTICATED, TRPC_CODE_OF.UNAUTHENTICATED]);
    const watch = await thrown(take(api.watch({}), 1));
    assert.ok(watch instanceof ClientError, String(watch));
    assert.equal(watch.code, ErrorCode.UNAUTHENTICATED, 'a subscription refused ends with its error, not a reconnect');
  });

  it('says PRECONDITION_FAILED with the revision now, and a deletion answers {}', async () => {
    const api = trpcUsersApi({ baseUrl: stack.baseUrl, token: ADMIN_TOKEN });
    const user = await api.createUser(aUser());
    await api.updateUser(user.id, { name: 'Moved On' });
    const stale = await thrown(api.deleteUser(user.id, { ifMatch: user.etag }));
    assert.ok(stale instanceof ClientError);
    assert.deepEqual([stale.code, stale.status], ['PRECONDITION_FAILED', 'PRECONDITION_FAILED']);
    assert.equal(stale.metadata.revision, String(user.revision + 1));
    const deleted = await post('users.delete', JSON.stringify({ id: user.id }));
    assert.deepEqual(deleted.body, { result: { data: {} } });
  });
});

describe('tRPC: rate limits', () => {
  it('answers a caller over its quota 429 TOO_MANY_REQUESTS with Retry-After, each call of a batch refused', async () => {
    const limited = await startStack({ 'rate-limit-rps': '1', 'rate-limit-burst': '1' });
    const token = await tokenOf('admin', 'trpc-rate');
    const get = () =>
      fetch(`${limited.baseUrl}/trpc/users.list,users.list?batch=1&${input({})}`, { headers: bearer(token) });
    assert.equal((await get()).status, 200);
    const refused = await get();
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    const answers = (await refused.json()) as { error: ErrorShape }[];
    assert.deepEqual(
      answers.map((a) => [a.error.data.code, a.error.data.errorType]),
      [
        ['TOO_MANY_REQUESTS', 'RATE_LIMITED'],
        ['TOO_MANY_REQUESTS', 'RATE_LIMITED'],
      ],
    );
    assert.match(answers[0]!.error.data.metadata.retry_after_seconds ?? '', /^\d+$/);
  });
});

describe('tRPC: subscriptions and shutdown', () => {
  it('resumes a dropped subscription after its last event (lastEventId) with no gap or duplicate', async () => {
    const own = await startStack({ 'sse-heartbeat-ms': '200' });
    const api = trpcUsersApi({ baseUrl: own.baseUrl, token: ADMIN_TOKEN });
    const stop = new AbortController();
    const events = api.watch({ bookmarks: false, signal: stop.signal })[Symbol.asyncIterator]();
    const first = events.next();
    await until(() => own.app.service.openWatches === 1, 'the subscription');
    const [created] = await own.app.service.createUsers([aUser()]);
    assert.equal(((await first).value as ClientEvent | undefined)?.revision, created!.revision);
    // The connection drops (a proxy restarts, say): tRPC reconnects with the last event's id.
    (own.rest.app.server as { closeAllConnections(): void }).closeAllConnections();
    await until(() => own.app.service.openWatches === 0, 'the subscription to drop');
    const missed = await own.app.service.createUsers([aUser(), aUser()]);
    const next = [await events.next(), await events.next()].map((r) => r.value as ClientEvent | undefined);
    assert.deepEqual(
      next.map((e) => e?.revision),
      missed.map((u) => u.revision),
    );
    stop.abort();
    assert.equal((await events.next()).done, true, 'the caller ends it');
  });

  it('ends a subscription at shutdown with UNAVAILABLE, which the client reads and does not reconnect past', async () => {
    const doomed = await startStack();
    const api = trpcUsersApi({ baseUrl: doomed.baseUrl, token: ADMIN_TOKEN });
    const watching = thrown(take(api.watch({}), Number.MAX_SAFE_INTEGER, 10_000));
    const raw = openSse(doomed.baseUrl, `/trpc/users.events?${input({})}`);
    await until(() => doomed.app.service.openWatches === 2, 'both subscriptions');
    await doomed.close();
    const error = await watching;
    assert.ok(error instanceof ClientError, String(error));
    assert.deepEqual([error.code, error.status], [ErrorCode.UNAVAILABLE, 'SERVICE_UNAVAILABLE']);
    const serialized = raw.messages.find((m) => m.event === 'serialized-error');
    assert.ok(serialized, 'an error event');
    assert.equal((JSON.parse(serialized.data!) as ErrorShape).data.errorType, ErrorCode.UNAVAILABLE);
    raw.close();
  });

  it('refuses to resume from a revision that is no number, by its field', async () => {
    const api = trpcUsersApi({ baseUrl: stack.baseUrl, token: ADMIN_TOKEN });
    const sse = openSse(stack.baseUrl, `/trpc/users.events?${input({ afterRevision: 'yesterday' })}`);
    await until(() => sse.messages.some((m) => m.event === 'serialized-error'), 'the error event');
    const error = JSON.parse(sse.messages.find((m) => m.event === 'serialized-error')!.data!) as ErrorShape;
    assert.deepEqual(
      error.data.violations.map((v) => v.field),
      ['after_revision'],
    );
    sse.close();
    const ahead = await thrown(take(api.watch({ afterRevision: 1e12 }), 1));
    assert.ok(ahead instanceof ClientError);
    assert.deepEqual(ahead.fields, ['after_revision']);
  });
});

describe('tRPC: a client with no server', () => {
  it('fails a call with fetch’s own error (the CLI says UNAVAILABLE), and a watch the same', async () => {
    const api = trpcUsersApi({ baseUrl: `http://127.0.0.1:${await freePort()}`, token: ADMIN_TOKEN });
    for (const call of [() => api.getUser('x'), () => take(api.watch({}), 1)]) {
      const error = (await thrown(call())) as Error & { cause?: { code?: string } };
      assert.equal(error.cause?.code, 'ECONNREFUSED', error.message);
    }
  });
});

// The consistency contracts seen by clients of other implementations: `buf curl` (Go: gRPC, Connect,
// gRPC-Web) and curl (REST, SSE). Etags and If-Match, idempotency keys and request ids, the
// listing's revision, bookmarks, and the typed error that ends a stream whose token expired.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { bufCurl, grpcTo } from './support/buf.js';
import { aUser } from './support/helpers.js';
import { startStack } from './support/stack.js';
import { ADMIN_TOKEN, expiryOf, tokenOf } from './support/tokens.js';

const stack = await startStack({ 'bookmark-interval-ms': '100' });
const admin = stack.restClient;

/** curl: resolves with its exit code, the response's headers (lower-cased names) and body. */
function curl(
  url: string,
  args: string[] = [],
): Promise<{ code: number; status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-i', ...args, url], { timeout: 20_000 }, (error, stdout) => {
      const [head = '', ...rest] = stdout.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

const json = (body: unknown) => ['-H', 'content-type: application/json', '-d', JSON.stringify(body)];
const auth = (token = ADMIN_TOKEN) => ['-H', `authorization: Bearer ${token}`];

describe('consistency with curl (REST and SSE)', () => {
  it('says X-Revision on a listing, honours If-Match (412 with the documented body) and replays an Idempotency-Key', async () => {
    const listed = await curl(`${stack.baseUrl}/users?limit=1`, auth());
    assert.equal(listed.status, 200);
    assert.match(listed.headers['x-revision'] ?? '', /^\d+$/);

    const fields = aUser();
    const create = () =>
      curl(`${stack.baseUrl}/users`, [...auth(), '-H', 'idempotency-key: curl-key-1', ...json(fields)]);
    const first = await create();
    const again = await create();
    assert.equal(first.status, 201, first.body);
    assert.equal(again.status, first.status, 'a replay answers with the first status');
    const user = JSON.parse(first.body) as { id: string; etag: string };
    assert.equal((JSON.parse(again.body) as { id: string }).id, user.id, 'and the first user');

    const patch = (etag: string) =>
      curl(`${stack.baseUrl}/users/${user.id}`, [
        ...auth(),
        '-X',
        'PATCH',
        '-H',
        `if-match: ${etag}`,
        ...json({ name: 'Curl' }),
      ]);
    assert.equal((await patch(user.etag)).status, 200);
    const stale = await patch(user.etag);
    assert.equal(stale.status, 412);
    assert.equal((JSON.parse(stale.body) as { error: { code: string } }).error.code, 'PRECONDITION_FAILED');
  });

  it('streams bookmarks (id: and event: bookmark) to a quiet watcher, then event: error when its token expires', async () => {
    const watched = await admin.createUser(aUser());
    const others = await admin.createUsers([aUser(), aUser()]);
    const token = await tokenOf('admin', 'admin', '4s');
    // An EventSource's way: the token in the URL. The server ends the stream at the token's expiry.
    const url = `${stack.baseUrl}/users/events?user_ids=${watched.id}&after_revision=${watched.revision}&access_token=${token}`;
    const { code, status, body } = await curl(url, ['-N']);
    assert.ok(Date.now() >= expiryOf(token), 'not before the token expired');
    assert.equal(code, 0, 'the server ended the stream cleanly');
    assert.equal(status, 200);
    const head = others.users.at(-1)!.revision;
    assert.match(body, new RegExp(`id: ${head}\\nevent: bookmark\\ndata: \\{"revision":"${head}"\\}\\n\\n`));
    const error = /event: error\ndata: (.*)\n\n$/.exec(body);
    assert.ok(error, body);
    assert.equal((JSON.parse(error[1]!) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    assert.doesNotMatch(body, /event: (created|updated|deleted)/, 'nothing of the users it does not watch');
  });

  it('sends no bookmark with bookmarks=false', async () => {
    const watched = await admin.createUser(aUser());
    await admin.createUsers([aUser()]);
    const token = await tokenOf('admin', 'admin', '4s');
    const url = `${stack.baseUrl}/users/events?user_ids=${watched.id}&after_revision=${watched.revision}&bookmarks=false&access_token=${token}`;
    const { body } = await curl(url, ['-N']);
    assert.ok(Date.now() >= expiryOf(token), 'the stream lasted until the token expired: many bookmark intervals');
    assert.match(body, /event: error/);
    assert.doesNotMatch(body, /event: bookmark/);
  });
});

describe('consistency with buf curl (gRPC, Connect, gRPC-Web)', () => {
  const targets = {
    grpc: (method: string) => [
      ...grpcTo(stack.address).slice(0, -1),
      `http://${stack.address}/users.v1.UserService/${method}`,
    ],
    connect: (method: string) => [
      '--protocol',
      'connect',
      '--schema',
      'proto',
      `${stack.baseUrl}/users.v1.UserService/${method}`,
    ],
    grpcweb: (method: string) => [
      '--protocol',
      'grpcweb',
      '--schema',
      'proto',
      `${stack.baseUrl}/users.v1.UserService/${method}`,
    ],
  };
  for (const [protocol, target] of Object.entries(targets)) {
    const call = (method: string, data: unknown, token = ADMIN_TOKEN, extra: string[] = []) =>
      bufCurl(['-H', `authorization: Bearer ${token}`, '-d', JSON.stringify(data), ...extra, ...target(method)]);

    it(`over ${protocol}: etag conditions, request_id replays and the listing's x-revision`, async () => {
      const requestId = `buf-${protocol}-${Date.now()}`;
      const fields = aUser();
      const first = await call('CreateUser', { ...fields, requestId });
      assert.equal(first.code, 0, first.stderr);
      const again = await call('CreateUser', { ...fields, requestId });
      const user = JSON.parse(first.stdout) as { id: string; etag: string };
      assert.equal((JSON.parse(again.stdout) as { id: string }).id, user.id, 'the retry answers with the first user');
      const reused = await call('CreateUser', { ...aUser(), requestId });
      assert.notEqual(reused.code, 0);
      assert.match(reused.stdout + reused.stderr, /invalid_argument/);

      const update = { user: { id: user.id, name: 'Buf Curl' }, updateMask: 'name', etag: user.etag };
      assert.equal((await call('UpdateUser', update)).code, 0);
      const stale = await call('UpdateUser', update);
      assert.notEqual(stale.code, 0);
      assert.match(stale.stdout + stale.stderr, /failed_precondition/);

      const listed = await call('ListUsers', { pageSize: 1, filter: 'Buf Curl' }, ADMIN_TOKEN, ['-v']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stderr, /x-revision: \d+/i);
    });

    it(`over ${protocol}: SubscribeUsers sends EVENT_TYPE_BOOKMARK, then ends UNAUTHENTICATED when the token expires`, async () => {
      const watched = await admin.createUser(aUser());
      const others = await admin.createUsers([aUser()]);
      const token = await tokenOf('admin', 'admin', '4s');
      const subscribed = await call(
        'SubscribeUsers',
        { userIds: [watched.id], afterRevision: String(watched.revision) },
        token,
      );
      assert.match(
        subscribed.stdout,
        new RegExp(`"type": "EVENT_TYPE_BOOKMARK",\\s*"revision": "${others.users.at(-1)!.revision}"`),
      );
      assert.ok(Date.now() >= expiryOf(token), 'not before the token expired');
      assert.notEqual(subscribed.code, 0);
      assert.match(subscribed.stdout + subscribed.stderr, /unauthenticated/);
      assert.match(subscribed.stdout + subscribed.stderr, /expired while the watch was open/);
    });
  }
});

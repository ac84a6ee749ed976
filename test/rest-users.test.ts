import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminFetch } from './support/tokens.js';
import { decode as decodeMsgpack, encode as encodeMsgpack } from '@msgpack/msgpack';
import { unpack } from 'msgpackr';
import { CreateUserRequest, CreateUsersResponse, User, UserPage, UserRole } from '../src/gen/users/v1/users.js';
import { restFailure as restError } from './support/failures.js';
import { aUserJson as json } from './support/helpers.js';
import { startStack } from './support/stack.js';

/**
 * MessagePack as REST sends it (msgpackr) is the wire format it always was: both libraries decode
 * it to the same value, and @msgpack/msgpack, which wrote it before, writes those very bytes.
 */
function assertSameMsgpack(bytes: Uint8Array): void {
  const value = decodeMsgpack(bytes);
  assert.deepEqual(unpack(bytes), value, 'msgpackr and @msgpack/msgpack read the same value');
  assert.deepEqual(Buffer.from(encodeMsgpack(value)), Buffer.from(bytes), 'the bytes @msgpack/msgpack writes');
}

describe('REST users', async () => {
  const { baseUrl, restClient: api, client: grpc } = await startStack();

  it('answers 201 with Location, 204 on delete, and the error body for every failure', async () => {
    const response = await adminFetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json({ role: 'USER_ROLE_ADMIN', tags: ['navy'] })),
    });
    assert.equal(response.status, 201);
    const created = (await response.json()) as { id: string; createdAt: string };
    assert.equal(response.headers.get('location'), `/users/${created.id}`);
    assert.ok(!Number.isNaN(Date.parse(created.createdAt)), 'RFC 3339 times');
    const deleted = await adminFetch(`${baseUrl}/users/${created.id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    const gone = await restError(api.getUser(created.id));
    assert.deepEqual(gone.body, {
      error: {
        code: 'USER_NOT_FOUND',
        message: `user ${created.id} not found`,
        details: [],
        metadata: { id: created.id },
      },
    });
  });

  it('checks body types with the schema, naming each bad field, before the domain sees it', async () => {
    const shape = await restError(api.createUser({ name: {}, role: 'BOSS', extra: true } as never));
    assert.equal(shape.status, 400);
    assert.equal(shape.body.error.code, 'INVALID_ARGUMENT');
    assert.deepEqual(shape.body.error.details.map((d) => d.field).sort(), ['email', 'extra', 'name', 'role']);
    const taken = await api.createUser(json());
    assert.equal((await restError(api.updateUser(taken.id!, {}))).body.error.details[0]?.field, 'body');
  });

  it('pages by offset with X-Total-Count and Link, and by cursor with a next link', async () => {
    await api.createUsers(
      Array.from({ length: 7 }, (_, i) => ({ name: `Pager ${i}`, email: `pager${i}@example.com` })),
    );
    const page2 = await api.listUsers({ filter: 'PAGER', page: 2, limit: 3 });
    assert.equal(page2.totalCountHeader, 7);
    assert.deepEqual(
      page2.users.map((u) => u.name),
      ['Pager 3', 'Pager 2', 'Pager 1'],
    );
    assert.equal(
      page2.link,
      '</users?filter=PAGER&limit=3&page=1>; rel="first", </users?filter=PAGER&limit=3&page=1>; rel="prev", ' +
        '</users?filter=PAGER&limit=3&page=3>; rel="next", </users?filter=PAGER&limit=3&page=3>; rel="last"',
    );
    const byCursor = await api.listUsers({ filter: 'pager', limit: 3, pageToken: page2.nextPageToken });
    assert.deepEqual(
      byCursor.users.map((u) => u.name),
      ['Pager 0'],
    );
    assert.equal(byCursor.nextPageToken, '');
    const first = await api.listUsers({ filter: 'pager', limit: 4, pageToken: '' });
    assert.match(first.link ?? '', /^<\/users\?filter=pager&limit=4&page_token=[\w-]+>; rel="next"$/);
    assert.equal((await restError(api.listUsers({ limit: 501 }))).status, 400);
    assert.equal((await restError(api.listUsers({ page: 0 }))).status, 400);
    assert.equal((await restError(api.listUsers({ pageToken: 'junk' }))).status, 400);
    const mixed = await restError(api.listUsers({ page: 2, pageToken: '' }));
    assert.equal(mixed.body.error.details[0]?.field, 'page');
  });

  it('returns sparse fieldsets and rejects unknown fields', async () => {
    const user = await api.createUser(json());
    assert.deepEqual(await api.getUser(user.id!, ['id', 'name']), { id: user.id, name: user.name });
    const list = await api.listUsers({ limit: 1, fields: ['email'] });
    assert.deepEqual(Object.keys(list.users[0]!), ['email']);
    const bad = await restError(api.getUser(user.id!, ['id', 'password']));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details[0]?.field, 'fields');
  });

  it('sends an ETag and answers If-None-Match with 304 until the user changes', async () => {
    const user = await api.createUser(json());
    const first = await adminFetch(`${baseUrl}/users/${user.id}`);
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^W\/".+"$/);
    assert.equal(first.headers.get('cache-control'), 'private, no-cache');
    const again = await adminFetch(`${baseUrl}/users/${user.id}`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const sparse = await adminFetch(`${baseUrl}/users/${user.id}?fields=id`, { headers: { 'if-none-match': etag } });
    assert.equal(sparse.status, 200, 'another representation has another ETag');
    await api.updateUser(user.id!, { name: 'Changed' });
    const changed = await adminFetch(`${baseUrl}/users/${user.id}`, { headers: { 'if-none-match': etag } });
    assert.equal(changed.status, 200);
  });

  it('gives two states of a user two ETags even when both writes fall in one millisecond', async (t) => {
    const user = await api.createUser(json());
    const etagNow = async () => (await adminFetch(`${baseUrl}/users/${user.id}`)).headers.get('etag');
    // Stop the clock: both writes then carry one updatedAt, as two writes in one millisecond do.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const first = await api.updateUser(user.id!, { name: 'First' });
    const firstTag = await etagNow();
    const second = await api.updateUser(user.id!, { name: 'Second' });
    t.mock.timers.reset();
    assert.equal(second.updatedAt, first.updatedAt, 'one millisecond');
    assert.notEqual(await etagNow(), firstTag, 'two states, two ETags');
  });

  it('negotiates JSON, MessagePack and protobuf on reads and writes', async () => {
    const user = await api.createUser(json());
    const asProto = await adminFetch(`${baseUrl}/users/${user.id}`, { headers: { accept: 'application/x-protobuf' } });
    assert.equal(asProto.headers.get('content-type'), 'application/x-protobuf');
    const bytes = Buffer.from(await asProto.arrayBuffer());
    const viaGrpc = await grpc.getUser({ id: user.id! });
    assert.deepEqual(bytes, Buffer.from(User.encode(viaGrpc).finish()), 'the very bytes gRPC sends');

    const asMsgpack = await adminFetch(`${baseUrl}/users/${user.id}`, {
      headers: { accept: 'application/msgpack;q=0.9, application/json;q=0.5' },
    });
    assert.equal(asMsgpack.headers.get('content-type'), 'application/msgpack');
    const packed = new Uint8Array(await asMsgpack.arrayBuffer());
    assert.deepEqual(decodeMsgpack(packed), user);
    assertSameMsgpack(packed);

    const packedPage = await adminFetch(`${baseUrl}/users?limit=3`, { headers: { accept: 'application/msgpack' } });
    assertSameMsgpack(new Uint8Array(await packedPage.arrayBuffer()));

    const page = await adminFetch(`${baseUrl}/users?limit=2`, { headers: { accept: 'application/x-protobuf' } });
    assert.equal(UserPage.decode(Buffer.from(await page.arrayBuffer())).users.length, 2);

    const protoCreate = await adminFetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', accept: 'application/x-protobuf' },
      body: CreateUserRequest.encode({
        name: 'Proto',
        email: 'proto@example.com',
        role: UserRole.USER_ROLE_ADMIN,
        tags: ['pb'],
        requestId: '',
      }).finish(),
    });
    assert.equal(protoCreate.status, 201);
    const protoUser = User.decode(Buffer.from(await protoCreate.arrayBuffer()));
    assert.equal(protoUser.role, UserRole.USER_ROLE_ADMIN);

    const packCreate = await adminFetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
      body: encodeMsgpack({ name: 'Packed', email: 'packed@example.com' }),
    });
    assert.equal(packCreate.status, 201);
    const packedCreate = new Uint8Array(await packCreate.arrayBuffer());
    assert.equal((decodeMsgpack(packedCreate) as { name: string }).name, 'Packed');
    assertSameMsgpack(packedCreate);

    const batch = await adminFetch(`${baseUrl}/users/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-protobuf' },
      body: JSON.stringify({ users: [json()] }),
    });
    assert.equal(CreateUsersResponse.decode(Buffer.from(await batch.arrayBuffer())).createdCount, 1);

    const badProto = await adminFetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0xff, 0xff, 0xff]),
    });
    assert.equal(badProto.status, 400);
    const badPack = await adminFetch(`${baseUrl}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack' },
      body: Buffer.from([0xc1]),
    });
    assert.equal(badPack.status, 400);
    assert.equal(((await badPack.json()) as { error: { code: string } }).error.code, 'MALFORMED_BODY');
  });

  it('answers protocol errors with the error body: 404, 400, 413, 415, 406', async () => {
    const expect = async (response: Response, status: number, code: string) => {
      assert.equal(response.status, status);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      const body = (await response.json()) as { error: { code: string; message: string; details: unknown[] } };
      assert.equal(body.error.code, code);
      assert.ok(Array.isArray(body.error.details));
      assert.doesNotMatch(JSON.stringify(body), /at \w+ \(|SELECT|sqlite/i, 'no stack traces or SQL');
    };
    await expect(await adminFetch(`${baseUrl}/nowhere`), 404, 'ROUTE_NOT_FOUND');
    const post = (body: string | Buffer, type = 'application/json') =>
      adminFetch(`${baseUrl}/users`, { method: 'POST', headers: { 'content-type': type }, body });
    await expect(await post('{"name": '), 400, 'MALFORMED_BODY');
    await expect(
      await post(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), email: 'big@example.com' })),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    await expect(await post('name=x', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expect(await post('<user/>', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expect(await adminFetch(`${baseUrl}/users`, { headers: { accept: 'text/html' } }), 406, 'NOT_ACCEPTABLE');
  });

  it('reports liveness and readiness', async () => {
    assert.deepEqual(await (await adminFetch(`${baseUrl}/healthz`)).json(), { status: 'ok' });
    assert.deepEqual(await (await adminFetch(`${baseUrl}/readyz`)).json(), { status: 'ok', database: 'ok' });
  });
});

describe('REST readiness', () => {
  it('answers 503 when the database is gone, and INTERNAL errors reveal nothing', async () => {
    const { baseUrl, app } = await startStack();
    await app.feed.close(); // it would be mid-read when the store goes
    await app.store.close();
    const ready = await adminFetch(`${baseUrl}/readyz`);
    assert.equal(ready.status, 503);
    const failed = await adminFetch(`${baseUrl}/users/anything`);
    assert.equal(failed.status, 500);
    assert.deepEqual(await failed.json(), { error: { code: 'INTERNAL', message: 'internal error', details: [] } });
  });
});

// Every bad input a hostile or careless client was seen to send, as a table: each case runs over
// every protocol it can arrive through and must get a clear client error (never INTERNAL) in that
// protocol's documented shape; afterwards the server must still answer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminFetch } from './support/tokens.js';
import { status } from '@grpc/grpc-js';
import { encode as encodeMsgpack } from '@msgpack/msgpack';
import Long from 'long';
import protobuf from 'protobufjs/minimal.js';
import { MAX_REPORTED_VIOLATIONS } from '../src/domain/errors.js';
import { LIMITS } from '../src/domain/user.js';
import { CreateUserRequest, WatchUsersRequest } from '../src/gen/users/v1/users.js';
import { describeError } from '../src/grpc/client.js';
import { aUserJson } from './support/helpers.js';
import { parseHttp, rawGrpc, rawHttp } from './support/raw.js';
import { type LogLine, startStack } from './support/stack.js';

const logs: LogLine[] = [];
const stack = await startStack({ 'log-level': 'info' }, { logs });
const { baseUrl, address, rest } = stack;

interface Expected {
  /** The catalogue code, in `error-type` (gRPC) and `error.code` (REST). */
  code: string;
  /** The bad field, when the error names one. */
  field?: string;
}

interface RestCase {
  name: string;
  /** A request through fetch, or raw bytes on a socket (for what fetch would refuse to send). */
  send: () => Promise<{ status: number; contentType: string; body: unknown; bytes: number; headers?: string }>;
  status: number;
  expect: Expected;
}

interface GrpcCase {
  name: string;
  call: () => Promise<unknown>;
  status: status;
  expect: Expected;
}

/** A request through fetch, read as the test needs it. */
const request = (path: string, init?: RequestInit) => async () => {
  const response = await adminFetch(`${baseUrl}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: JSON.parse(text) as unknown,
    bytes: text.length,
  };
};
const get = (path: string) => request(path);
const json = (path: string, body: string, method = 'POST') =>
  request(path, { method, headers: { 'content-type': 'application/json' }, body });
const badBytes = (body: Buffer | Uint8Array, contentType: string) =>
  request('/users', { method: 'POST', headers: { 'content-type': contentType }, body });
const raw = (text: string) => async () => {
  const answer = parseHttp(await rawHttp(rest.port, text));
  return { ...answer, contentType: /content-type: ([^\r\n]+)/.exec(answer.headers)?.[1] ?? '', bytes: text.length };
};

const long = (n: number) => 'x'.repeat(n);
const manyIds = Array.from({ length: LIMITS.watchIdsMax + 1 }, (_, i) => `id${i}`);
const badItems = Array.from({ length: 6500 }, () => ({ name: '', email: 'not-an-email' }));
const NFC = 'Zoë.Hostile@example.com'.normalize('NFC');

const restCases: RestCase[] = [
  {
    name: 'an offset past the cap, written as an exponent',
    send: get('/users?page=1e17&limit=500'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'page' },
  },
  {
    name: 'an offset past the cap, in digits',
    send: get('/users?page=21&limit=500'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'page' },
  },
  {
    name: 'a limit in hex',
    send: get('/users?limit=0x10'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'limit' },
  },
  {
    name: 'a filter longer than any name',
    send: get(`/users?filter=${long(5000)}`),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'filter' },
  },
  {
    name: 'a page token longer than any issued',
    send: get(`/users?page_token=${long(600)}`),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'page_token' },
  },
  {
    name: 'a revision beyond 2^53',
    send: get('/users/events?after_revision=9007199254740993'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'after_revision' },
  },
  {
    name: 'more user ids than a watch may name',
    send: get(`/users/events?user_ids=${manyIds.join(',')}`),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'user_ids' },
  },
  {
    name: 'a number for a name',
    send: json('/users', '{"name":123,"email":"typed@example.com"}'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'name' },
  },
  {
    name: 'an array for a role',
    send: json('/users', '{"name":"Role","email":"role@example.com","role":["USER_ROLE_ADMIN"]}'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'role' },
  },
  {
    name: 'a string for tags',
    send: json('/users', '{"name":"Tags","email":"tags@example.com","tags":"x"}'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'tags' },
  },
  {
    name: 'a lone surrogate in an email',
    send: json('/users', '{"name":"S","email":"s\\udc00@example.com"}'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'email' },
  },
  {
    name: 'a control character in a name',
    send: json('/users', '{"name":"bell\\u0007","email":"bell@example.com"}'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'name' },
  },
  {
    name: 'U+FFFD in a tag',
    send: json('/users', '{"name":"R","email":"r@example.com","tags":["\\ufffd"]}'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'tags[0]' },
  },
  {
    name: 'a JSON body with __proto__',
    send: json('/users', '{"__proto__":{"admin":true},"name":"P","email":"p@example.com"}'),
    status: 400,
    expect: { code: 'MALFORMED_BODY' },
  },
  { name: 'an empty JSON body', send: json('/users', ''), status: 400, expect: { code: 'MALFORMED_BODY' } },
  {
    name: 'a MessagePack body with __proto__',
    send: badBytes(
      Buffer.from(encodeMsgpack(JSON.parse('{"__proto__":{"admin":true},"name":"P","email":"p@example.com"}'))),
      'application/msgpack',
    ),
    status: 400,
    expect: { code: 'MALFORMED_BODY' },
  },
  {
    name: 'a MessagePack body with bytes after its value',
    send: badBytes(
      Buffer.concat([Buffer.from(encodeMsgpack({ name: 'T', email: 't@example.com' })), Buffer.from([0xc0])]),
      'application/msgpack',
    ),
    status: 400,
    expect: { code: 'MALFORMED_BODY' },
  },
  {
    name: 'malformed protobuf',
    send: badBytes(Buffer.from([0xff, 0xff, 0xff]), 'application/x-protobuf'),
    status: 400,
    expect: { code: 'MALFORMED_BODY' },
  },
  {
    name: 'malformed MessagePack',
    send: badBytes(Buffer.from([0xc1]), 'application/msgpack'),
    status: 400,
    expect: { code: 'MALFORMED_BODY' },
  },
  {
    name: 'an update that names nothing',
    send: json('/users/some-id', '{}', 'PATCH'),
    status: 400,
    expect: { code: 'INVALID_ARGUMENT', field: 'body' },
  },
  { name: 'a URL that does not decode', send: get('/users/%zz'), status: 400, expect: { code: 'MALFORMED_REQUEST' } },
  { name: 'a 10 KB id', send: get(`/users/${long(10_000)}`), status: 414, expect: { code: 'URI_TOO_LONG' } },
  {
    name: 'a path out of the docs folder',
    send: raw('GET /docs/static/../../../package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    status: 404,
    expect: { code: 'ROUTE_NOT_FOUND' },
  },
  {
    name: 'headers past the size limit',
    send: raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${long(20_000)}\r\n\r\n`),
    status: 431,
    expect: { code: 'HEADERS_TOO_LARGE' },
  },
  {
    name: 'a request line that is not HTTP',
    send: raw('HELLO THERE\r\n\r\n'),
    status: 400,
    expect: { code: 'MALFORMED_REQUEST' },
  },
];

const grpcCases: GrpcCase[] = [
  {
    name: 'a filter of 50,000 characters',
    call: () => drain(stack.client.listUsers({ filter: long(50_000) })),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT', field: 'filter' },
  },
  {
    name: 'a page token longer than any issued',
    call: () => drain(stack.client.listUsers({ pageToken: long(600) })),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT', field: 'page_token' },
  },
  {
    name: 'a 10 KB id',
    call: () => stack.client.getUser({ id: long(10_000) }),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT', field: 'id' },
  },
  {
    name: 'a control character in a name',
    call: () => stack.client.createUser({ name: 'bell\u0007', email: 'bell.grpc@example.com' }),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT', field: 'name' },
  },
  {
    name: 'invalid UTF-8 in a name (decoders put U+FFFD there)',
    call: () =>
      rawGrpc(address, 'CreateUser', [
        Buffer.concat([
          Buffer.from([0x0a, 3, 0xff, 0xfe, 0x41]),
          Buffer.from(
            CreateUserRequest.encode({
              name: '',
              email: 'utf8@example.com',
              role: 0,
              tags: [],
              requestId: '',
            }).finish(),
          ),
        ]),
      ]),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT', field: 'name' },
  },
  {
    name: 'bytes that are not a GetUserRequest',
    call: () => rawGrpc(address, 'GetUser', [Buffer.from([0xff, 0xff, 0xff])]),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT' },
  },
  {
    name: 'a revision beyond 2^53',
    call: () =>
      rawGrpc(
        address,
        'WatchUsers',
        [Buffer.from(protobuf.Writer.create().uint32(16).int64(Long.fromString('9007199254740993')).finish())],
        { stream: 'bidi' },
      ),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT' },
  },
  {
    name: 'more user ids than a watch may name',
    call: () =>
      rawGrpc(address, 'WatchUsers', [Buffer.from(WatchUsersRequest.encode({ userIds: manyIds }).finish())], {
        stream: 'bidi',
      }),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT', field: 'user_ids' },
  },
  {
    name: 'a batch of more users than a batch may hold, refused as it streams',
    call: () =>
      stack.client.createUsers(
        Array.from({ length: LIMITS.batchMax + 1 }, (_, i) => ({ name: `n${i}`, email: `big${i}@example.com` })),
      ),
    status: status.INVALID_ARGUMENT,
    expect: { code: 'INVALID_ARGUMENT', field: 'users' },
  },
];

async function drain(source: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of source) {
    // read to the end
  }
}

/** After every case: the server still serves both protocols. */
async function stillAnswers(): Promise<void> {
  assert.equal((await adminFetch(`${baseUrl}/healthz`)).status, 200);
  const user = await stack.restClient.createUser(aUserJson());
  assert.equal((await stack.client.getUser({ id: user.id! })).id, user.id);
}

describe('hostile input over REST', () => {
  for (const c of restCases) {
    it(`${c.name}: ${c.status} ${c.expect.code}`, async () => {
      const answer = await c.send();
      assert.equal(answer.status, c.status, JSON.stringify(answer.body));
      assert.match(answer.contentType, /^application\/json/);
      const body = answer.body as { error: { code: string; message: string; details: { field: string }[] } };
      assert.deepEqual(Object.keys(body), ['error'], 'the documented body');
      assert.equal(body.error.code, c.expect.code);
      assert.equal(typeof body.error.message, 'string');
      assert.ok(Array.isArray(body.error.details));
      if (c.expect.field)
        assert.ok(
          body.error.details.some((d) => d.field === c.expect.field),
          JSON.stringify(body.error.details),
        );
      await stillAnswers();
    });
  }

  it('does not amplify: 6,500 bad items answer with at most 100 violations and their count, in a small body', async () => {
    const answer = await json('/users/batch', JSON.stringify({ users: badItems }))();
    assert.equal(answer.status, 400);
    const body = answer.body as { error: { code: string; details: unknown[]; metadata: { violations: string } } };
    assert.equal(body.error.code, 'INVALID_ARGUMENT');
    assert.equal(body.error.details.length, MAX_REPORTED_VIOLATIONS);
    assert.equal(body.error.metadata.violations, String(6500 * 2));
    assert.ok(answer.bytes < 20_000, `${answer.bytes} bytes`);
  });

  it('takes NFC and NFD spellings of one email for one email', async () => {
    const first = await json('/users', JSON.stringify({ name: 'Zoë', email: NFC }))();
    assert.equal(first.status, 201);
    const second = await json('/users', JSON.stringify({ name: 'Zoë', email: NFC.normalize('NFD') }))();
    assert.equal(second.status, 409);
  });
});

describe('hostile input over gRPC', () => {
  for (const c of grpcCases) {
    it(`${c.name}: ${status[c.status]} ${c.expect.code}`, async () => {
      const failure = describeError(
        await c.call().then(
          () => assert.fail('the call succeeded'),
          (error: unknown) => error,
        ),
      );
      assert.equal(failure.code, c.status);
      assert.equal(failure.errorType, c.expect.code);
      assert.equal(failure.errorInfo?.reason, c.expect.code, 'a google.rpc.Status with ErrorInfo');
      if (c.expect.field) {
        assert.ok(
          failure.badRequest?.fieldViolations.some((v) => v.field === c.expect.field),
          JSON.stringify(failure.badRequest),
        );
      }
      await stillAnswers();
    });
  }

  it('takes NFC and NFD spellings of one email for one email', async () => {
    const email = NFC.replace('Hostile', 'Grpc');
    await stack.client.createUser({ name: 'Zoë', email });
    const second = describeError(
      await stack.client.createUser({ name: 'Zoë', email: email.normalize('NFD') }).catch((e: unknown) => e),
    );
    assert.equal(second.code, status.ALREADY_EXISTS);
  });

  it('does not amplify: a stream of 6,500 bad items answers with at most 100 violations and their count', async () => {
    const failure = describeError(await stack.client.createUsers(badItems).catch((error: unknown) => error));
    assert.equal(failure.code, status.INVALID_ARGUMENT);
    assert.equal(failure.badRequest?.fieldViolations.length, MAX_REPORTED_VIOLATIONS);
    assert.equal(failure.errorInfo?.metadata.violations, String(6500 * 2));
  });
});

describe('hostile input, afterwards', () => {
  it('logged none of it as an internal error', () => {
    assert.deepEqual(
      logs.filter((l) => l.level >= 50),
      [],
    );
  });
});

// Connect and gRPC-Web on the REST port: what is these protocols' own (wire formats, error bodies
// and trailers, content types, limits, HTTP/2 bidi, shutdown, metrics). What must hold on every
// protocol runs in behaviour.test.ts and access.test.ts, over these too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ConnectError, createClient } from '@connectrpc/connect';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from '../src/gen/google/rpc/error_details_pb.js';
import { StatusSchema } from '../src/gen/google/rpc/status_pb.js';
import {
  GetUserRequestSchema,
  UserSchema,
  UserRole,
  UserService,
  type UserEvent,
  type WatchUsersRequest,
} from '../src/gen/users/v1/users_pb.js';
import { grpcFrame as frame } from '../src/bench/load/spec.js';
import { connectTransport } from '../src/clients/connect.js';
import { bufCurl } from './support/buf.js';
import { thrown } from './support/failures.js';
import { aUser, take, until } from './support/helpers.js';
import { scrape, valueOf } from './support/metrics.js';
import { type LogLine, startStack } from './support/stack.js';
import { ADMIN_TOKEN, bearer, tokenOf } from './support/tokens.js';

const stack = await startStack({}, { metrics: true });
const known = await stack.app.service.createUser(aUser({ name: 'Known Connect' }));
const rpc = (method: string) => `${stack.baseUrl}/users.v1.UserService/${method}`;
const admin = createClient(
  UserService,
  connectTransport({ baseUrl: stack.baseUrl, protocol: 'connect', token: ADMIN_TOKEN }),
);

/** A gRPC-Web body: each message framed (flag byte, 4-byte length); flag 0x80 marks the trailers. */
function grpcWebFrames(body: Uint8Array): { messages: Uint8Array[]; trailers: Record<string, string> } {
  const messages: Uint8Array[] = [];
  const trailers: Record<string, string> = {};
  for (let at = 0; at < body.length;) {
    const flag = body[at]!;
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    const data = body.subarray(at + 5, at + 5 + length);
    if (flag & 0x80) {
      for (const line of new TextDecoder().decode(data).split('\r\n').filter(Boolean)) {
        const colon = line.indexOf(':');
        trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    } else messages.push(data);
    at += 5 + length;
  }
  return { messages, trailers };
}

describe('Connect protocol', () => {
  it('answers JSON and binary with the same user, at the standard path', async () => {
    const json = await fetch(rpc('GetUser'), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ id: known.id }),
    });
    assert.equal(json.status, 200);
    assert.equal(json.headers.get('content-type'), 'application/json');
    const user = (await json.json()) as Record<string, unknown>;
    assert.equal(user.id, known.id);
    assert.equal(user.role, 'USER_ROLE_USER', 'enum names as the proto3 JSON mapping writes them');

    const binary = await fetch(rpc('GetUser'), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/proto' },
      body: toBinary(GetUserRequestSchema, { $typeName: 'users.v1.GetUserRequest', id: known.id }),
    });
    assert.equal(binary.status, 200);
    assert.equal(binary.headers.get('content-type'), 'application/proto');
    const decoded = fromBinary(UserSchema, new Uint8Array(await binary.arrayBuffer()));
    assert.equal(decoded.id, known.id);
    assert.equal(decoded.email, user.email);
  });

  it('says an error as the Connect error JSON: code, message, details (ErrorInfo, BadRequest), and error-type', async () => {
    const missing = await fetch(rpc('GetUser'), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'nobody' }),
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('error-type'), 'USER_NOT_FOUND');
    const body = (await missing.json()) as { code: string; message: string; details: { type: string }[] };
    assert.equal(body.code, 'not_found');
    assert.equal(body.message, 'user nobody not found');
    assert.deepEqual(
      body.details.map((d) => d.type),
      ['google.rpc.ErrorInfo'],
    );

    const invalid = await thrown(admin.createUser({ name: '', email: 'not-an-email' }));
    assert.ok(invalid instanceof ConnectError);
    assert.equal(invalid.code, 3, 'INVALID_ARGUMENT');
    const [info] = invalid.findDetails(ErrorInfoSchema);
    assert.equal(info?.reason, 'INVALID_ARGUMENT');
    assert.equal(info?.domain, 'twinapi.users.v1');
    const fields = invalid.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
    assert.deepEqual(fields.sort(), ['email', 'name']);
  });

  it('refuses bad input in its own terms, and keeps serving', async () => {
    const post = (body: string | Uint8Array, contentType: string, method = 'GetUser') =>
      fetch(rpc(method), { method: 'POST', headers: { ...bearer(ADMIN_TOKEN), 'content-type': contentType }, body });
    const cases: [string, () => Promise<Response>, number, string][] = [
      ['malformed JSON', () => post('{"id":', 'application/json'), 400, 'invalid_argument'],
      ['a wrong JSON type', () => post('{"id":123}', 'application/json'), 400, 'invalid_argument'],
      ['malformed protobuf', () => post(new Uint8Array([0x0a, 0xff]), 'application/proto'), 400, 'invalid_argument'],
      [
        'a revision beyond 2^53',
        () =>
          fetch(rpc('SubscribeUsers'), {
            method: 'POST',
            headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/connect+json' },
            body: Buffer.from(frame(new TextEncoder().encode('{"afterRevision":"9223372036854775807"}'))),
          }),
        200,
        'invalid_argument',
      ],
      [
        'a body over the limit',
        () => post(JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 1) }), 'application/json', 'CreateUser'),
        429,
        'resource_exhausted',
      ],
    ];
    for (const [what, send, status, code] of cases) {
      const response = await send();
      assert.equal(response.status, status, what);
      const text = await response.text();
      assert.match(text, new RegExp(`"code":"${code}"`), `${what}: ${text}`);
    }
    // As REST's bodies: a JSON field or an enum name the contract does not have is refused, never dropped
    // (dropped, an unknown role name would mean "the default role": an admin demoted by a typo).
    const refused: [string, string][] = [
      ['GetUser', JSON.stringify({ id: known.id, fieldFromTheFuture: 1 })],
      [
        'CreateUser',
        JSON.stringify({ name: 'Role Typo', email: `typo-${Date.now()}@example.com`, role: 'USER_ROLE_NOPE' }),
      ],
      ['UpdateUser', JSON.stringify({ user: { id: known.id, role: 'USER_ROLE_SUPERADMIN' }, updateMask: 'role' })],
    ];
    for (const [method, body] of refused) {
      const response = await post(body, 'application/json', method);
      assert.equal(response.status, 400, body);
      assert.equal(((await response.json()) as { code: string }).code, 'invalid_argument', body);
    }
    assert.equal((await admin.getUser({ id: known.id })).role, UserRole.USER, 'the role did not change');
    const unsupported = await post('id=x', 'text/plain');
    assert.equal(unsupported.status, 415, 'a content type neither Connect nor gRPC-Web');
    assert.doesNotMatch(await unsupported.text(), /UNSUPPORTED_MEDIA_TYPE/, "ConnectRPC's answer, not REST's body");
    const get = await fetch(rpc('GetUser'), { headers: bearer(ADMIN_TOKEN) });
    assert.equal(get.status, 405, 'unary calls are POST (GetUser is not marked side-effect free)');
    assert.equal((await admin.getUser({ id: known.id })).id, known.id, 'still serving');
  });

  it('streams ListUsers and takes a CreateUsers client stream over HTTP/1.1', async () => {
    const tag = `stream${Date.now()}`;
    const created = await admin.createUsers(
      (async function* () {
        for (let i = 0; i < 3; i++) yield { ...aUser({ name: `${tag} ${i}` }) };
      })(),
    );
    assert.equal(created.createdCount, 3);
    const listed = [];
    for await (const user of admin.listUsers({ filter: tag, pageSize: 2 })) listed.push(user.name);
    assert.deepEqual(listed, [`${tag} 2`, `${tag} 1`, `${tag} 0`], 'newest first, across store batches');
  });

  it('refuses a caller without a token before reading its body, on every method and framing', async () => {
    const oversized = 'x'.repeat(2 * 1024 * 1024);
    const cases: [string, string, string | Buffer][] = [
      ['GetUser', 'application/json', JSON.stringify({ id: oversized })],
      ['GetUser', 'application/proto', Buffer.from(oversized)],
      ['ListUsers', 'application/connect+json', Buffer.from(oversized)],
      ['CreateUsers', 'application/grpc-web+proto', Buffer.from(oversized)],
    ];
    for (const [method, type, body] of cases) {
      const response = await fetch(rpc(method), { method: 'POST', headers: { 'content-type': type }, body });
      const text = await response.text();
      assert.match(text, /unauthenticated|grpc-status: 16/, `${method} ${type}: ${text.slice(0, 200)}`);
    }
  });

  it('refuses a caller without a token (401) and a user calling an admin method (403), with RetryInfo when limited', async () => {
    const anonymous = await fetch(rpc('GetUser'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: known.id }),
    });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { code: string }).code, 'unauthenticated');
    const user = createClient(
      UserService,
      connectTransport({ baseUrl: stack.baseUrl, protocol: 'connect', token: await tokenOf('user') }),
    );
    const denied = await thrown(user.createUser(aUser()));
    assert.ok(denied instanceof ConnectError);
    assert.equal(denied.code, 7, 'PERMISSION_DENIED');

    const limited = await startStack({ 'rate-limit-rps': '1', 'rate-limit-burst': '1' });
    const token = await tokenOf('user', 'limited');
    const client = createClient(
      UserService,
      connectTransport({ baseUrl: limited.baseUrl, protocol: 'connect', token: token }),
    );
    await thrown(client.getUser({ id: 'x' }));
    const refused = await fetch(`${limited.baseUrl}/users.v1.UserService/GetUser`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: '{"id":"x"}',
    });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After');
    assert.equal(refused.headers.get('error-type'), 'RATE_LIMITED');
    const error = await thrown(client.getUser({ id: 'x' }));
    assert.ok(error instanceof ConnectError);
    assert.ok(error.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds, 'RetryInfo');
    await limited.close();
  });
});

describe('gRPC-Web', () => {
  it('answers with the message and grpc-status 0 in the trailers frame', async () => {
    const response = await fetch(rpc('GetUser'), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
      body: Buffer.from(frame(toBinary(GetUserRequestSchema, { $typeName: 'users.v1.GetUserRequest', id: known.id }))),
    });
    assert.equal(response.status, 200);
    const { messages, trailers } = grpcWebFrames(new Uint8Array(await response.arrayBuffer()));
    assert.equal(trailers['grpc-status'], '0');
    assert.equal(fromBinary(UserSchema, messages[0]!).id, known.id);
  });

  it('says an error in trailers: grpc-status, grpc-message, grpc-status-details-bin and error-type', async () => {
    const response = await fetch(rpc('GetUser'), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/grpc-web+proto' },
      body: Buffer.from(frame(toBinary(GetUserRequestSchema, { $typeName: 'users.v1.GetUserRequest', id: 'gone' }))),
    });
    // Trailers-only: the status may come as headers (no body) or as a trailers frame.
    const body = new Uint8Array(await response.arrayBuffer());
    const trailers = body.length > 0 ? grpcWebFrames(body).trailers : Object.fromEntries(response.headers.entries());
    assert.equal(trailers['grpc-status'], '5', 'NOT_FOUND');
    assert.equal(decodeURIComponent(trailers['grpc-message'] ?? ''), 'user gone not found');
    assert.equal(trailers['error-type'], 'USER_NOT_FOUND');
    const status = fromBinary(StatusSchema, Buffer.from(trailers['grpc-status-details-bin'] ?? '', 'base64'));
    assert.equal(status.code, 5);
    assert.deepEqual(
      status.details.map((d) => d.typeUrl),
      ['type.googleapis.com/google.rpc.ErrorInfo'],
    );
  });
});

describe('a request message that does not decode (the client sent bad bytes)', () => {
  const bad = new Uint8Array([0x0a, 0xff]);
  const send = (method: string, contentType: string, body: Uint8Array) =>
    fetch(rpc(method), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': contentType },
      body: Buffer.from(body),
    });

  it('is INVALID_ARGUMENT naming the message type, on Connect unary (400)', async () => {
    const response = await send('GetUser', 'application/proto', bad);
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('error-type'), 'INVALID_ARGUMENT');
    const body = (await response.json()) as { code: string; message: string };
    assert.equal(body.code, 'invalid_argument');
    assert.match(body.message, /^not a valid users\.v1\.GetUserRequest message: /);
  });

  it('is INVALID_ARGUMENT in the trailers on gRPC-Web, unary and client-streaming', async () => {
    for (const method of ['GetUser', 'CreateUsers']) {
      const response = await send(method, 'application/grpc-web+proto', frame(bad));
      const { trailers } = grpcWebFrames(new Uint8Array(await response.arrayBuffer()));
      assert.equal(trailers['grpc-status'], '3', method);
      assert.equal(trailers['error-type'], 'INVALID_ARGUMENT', method);
      assert.match(decodeURIComponent(trailers['grpc-message'] ?? ''), /not a valid users\.v1\./, method);
    }
    assert.equal((await admin.getUser({ id: known.id })).id, known.id, 'still serving');
  });
});

describe('clients from another implementation (buf curl, Go)', () => {
  const curl = (protocol: string, method: string, data: string) =>
    bufCurl([
      '--protocol',
      protocol,
      '--schema',
      'proto',
      '-H',
      `authorization: Bearer ${ADMIN_TOKEN}`,
      '-d',
      data,
      rpc(method),
    ]);

  for (const protocol of ['connect', 'grpcweb']) {
    it(`calls unary, server-streaming and failing methods over ${protocol}`, async () => {
      const got = await curl(protocol, 'GetUser', JSON.stringify({ id: known.id }));
      assert.equal(got.code, 0, got.stderr);
      assert.equal((JSON.parse(got.stdout) as { id: string }).id, known.id);

      const listed = await curl(protocol, 'ListUsers', JSON.stringify({ filter: 'Known Connect' }));
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(known.id));

      const failed = await curl(protocol, 'GetUser', '{"id":"nobody"}');
      assert.notEqual(failed.code, 0);
      assert.match(failed.stdout + failed.stderr, /not_found/);
      assert.match(failed.stdout + failed.stderr, /user nobody not found/);
    });
  }
});

describe('watches over Connect', () => {
  it('SubscribeUsers resumes after a revision, is counted while open, and ends UNAVAILABLE at shutdown', async () => {
    const own = await startStack({}, { metrics: true });
    const client = createClient(
      UserService,
      connectTransport({ baseUrl: own.baseUrl, protocol: 'grpc-web', token: ADMIN_TOKEN }),
    );
    const first = await own.app.service.createUser(aUser());
    const stream = client.subscribeUsers({ afterRevision: 0n });
    const [event] = await take(stream, 1);
    assert.equal(event?.user?.id, first.id);
    await until(
      async () => valueOf(await scrape(own.metricsUrl), 'twinapi_watch_streams', { protocol: 'connect' }) === 1,
      'the watch to be counted',
    );
    // Caught from the start: the stream may fail while close is still running.
    const ending = thrown(take(stream, 1, 5000));
    await own.close();
    const error = await ending;
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(error.code, 14, 'UNAVAILABLE: resumable');
  });

  it('WatchUsers (bidi) over HTTP/2: later requests widen the set; a later after_revision is refused', async () => {
    const h2 = await startStack({ 'rest-http2': 'true' });
    const client = createClient(
      UserService,
      connectTransport({ baseUrl: h2.baseUrl, protocol: 'connect', token: ADMIN_TOKEN, http2: true }),
    );
    const [a, b] = [await h2.app.service.createUser(aUser()), await h2.app.service.createUser(aUser())];
    const requests: WatchUsersRequest[] = [];
    let push: (() => void) | undefined;
    let ended = false;
    const outgoing = (async function* () {
      for (;;) {
        while (requests.length > 0) yield requests.shift()!;
        if (ended) return;
        await new Promise<void>((resolve) => (push = resolve));
      }
    })();
    const send = (request: Partial<WatchUsersRequest>) => {
      requests.push({ $typeName: 'users.v1.WatchUsersRequest', userIds: [], ...request });
      push?.();
    };
    const got: UserEvent[] = [];
    let failure: unknown;
    void (async () => {
      for await (const event of client.watchUsers(outgoing)) got.push(event);
    })().catch((error: unknown) => (failure = error));
    send({ userIds: [a.id] });
    await until(() => h2.app.feed.waitingWatchers === 1, 'the watch to start');
    await h2.app.service.updateUser(a.id, { fields: ['name'], changes: { name: 'A2' } });
    await until(() => got.length === 1, 'the event of the watched user');
    assert.equal(got[0]?.user?.name, 'A2');
    send({ userIds: [b.id] });
    // No acknowledgement exists for a widening request: change b until the watch reports it.
    let round = 0;
    await until(async () => {
      await h2.app.service.updateUser(b.id, { fields: ['name'], changes: { name: `B${round++}` } });
      return got.some((e) => e.user?.id === b.id);
    }, 'the widened watch to see b');
    send({ afterRevision: 1n });
    await until(() => failure !== undefined, 'the refusal of a later after_revision');
    assert.ok(failure instanceof ConnectError, String(failure));
    assert.equal(failure.code, 3, 'INVALID_ARGUMENT');
    ended = true;
    push?.();
    await h2.close();
  });
});

describe('Connect metrics', () => {
  it('counts calls by rpc_system_name (connect, grpc_web), method and status', async () => {
    const web = createClient(
      UserService,
      connectTransport({ baseUrl: stack.baseUrl, protocol: 'grpc-web', token: ADMIN_TOKEN }),
    );
    await admin.getUser({ id: known.id });
    await thrown(web.getUser({ id: 'nobody' }));
    const samples = await scrape(stack.metricsUrl);
    const count = (system: string, status: string) =>
      valueOf(samples, 'rpc_server_call_duration_seconds_count', {
        rpc_system_name: system,
        rpc_method: 'users.v1.UserService/GetUser',
        rpc_response_status_code: status,
      });
    assert.ok(count('connect', 'OK') >= 1);
    assert.ok(count('grpc_web', 'NOT_FOUND') >= 1);
    assert.equal(
      valueOf(samples, 'http_server_request_duration_seconds_count', { http_route: '/users.v1.UserService/GetUser' }),
      0,
      'an RPC is counted once, as an RPC',
    );
  });
});

describe('calls that end early: deadlines, clients that leave, quiet watches', () => {
  const watchCount = async (url: string, status: string) =>
    valueOf(await scrape(url), 'rpc_server_call_duration_seconds_count', {
      rpc_system_name: 'connect',
      rpc_method: 'users.v1.UserService/SubscribeUsers',
      rpc_response_status_code: status,
    });

  it('a unary call past its deadline is DEADLINE_EXCEEDED, not CANCELLED', async () => {
    const response = await fetch(rpc('GetUser'), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json', 'connect-timeout-ms': '0' },
      body: JSON.stringify({ id: known.id }),
    });
    assert.equal(((await response.json()) as { code: string }).code, 'deadline_exceeded');
  });

  it("a watch that reaches the client's deadline ends DEADLINE_EXCEEDED; one the client cancels is counted CANCELLED", async () => {
    const client = createClient(
      UserService,
      connectTransport({ baseUrl: stack.baseUrl, protocol: 'connect', token: ADMIN_TOKEN }),
    );
    const expiring = await thrown(take(client.subscribeUsers({}, { timeoutMs: 300 }), 1, 5000));
    assert.ok(expiring instanceof ConnectError, String(expiring));
    assert.equal(expiring.code, 4, 'DEADLINE_EXCEEDED');

    const before = await watchCount(stack.metricsUrl, 'CANCELLED');
    const stop = new AbortController();
    const watch = take(client.subscribeUsers({}, { signal: stop.signal }), 1, 5000);
    await until(async () => (await scrape(stack.metricsUrl)).length > 0 && stack.rest.rpcWatchStreams > 0, 'the watch');
    stop.abort();
    await thrown(watch);
    await until(async () => (await watchCount(stack.metricsUrl, 'CANCELLED')) === before + 1, 'a CANCELLED watch');
    assert.equal(await watchCount(stack.metricsUrl, 'CANCELED'), 0, 'one spelling: CANCELLED, as gRPC');
  });

  it('a client that leaves a stream mid-way is a cancelled call, not an error in the log', async () => {
    const logs: LogLine[] = [];
    const own = await startStack({ 'log-level': 'info' }, { logs, metrics: true });
    await own.app.service.createUsers(Array.from({ length: 50 }, () => aUser()));
    const leaving = new AbortController();
    const response = await fetch(`${own.baseUrl}/users.v1.UserService/SubscribeUsers`, {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/connect+json' },
      body: Buffer.from(frame(new TextEncoder().encode('{"afterRevision":"0"}'))),
      signal: leaving.signal,
    });
    await response.body!.getReader().read();
    leaving.abort();
    // Changes keep coming after it left: writes to a closed connection must not be server errors.
    await own.app.service.createUsers(Array.from({ length: 50 }, () => aUser()));
    await until(async () => (await watchCount(own.metricsUrl, 'CANCELLED')) === 1, 'the call to end CANCELLED');
    assert.equal(own.rest.rpcWatchStreams, 0, 'its watch slot is released');
    assert.deepEqual(
      logs.filter((l) => l.level >= 50).map((l) => l.msg),
      [],
      'no error logged',
    );
    await own.close();
  });

  it('a quiet watch outlives the connection idle timeout (it is not an idle client)', { timeout: 20_000 }, async () => {
    const own = await startStack({ 'rest-idle-timeout-ms': '600', 'sse-heartbeat-ms': '300' });
    const client = createClient(
      UserService,
      connectTransport({ baseUrl: own.baseUrl, protocol: 'grpc-web', token: ADMIN_TOKEN }),
    );
    const first = take(client.subscribeUsers({}), 1, 10_000);
    await until(() => own.rest.rpcWatchStreams === 1, 'the watch to open');
    // Quiet for three idle timeouts: what the timeout would have cut.
    await new Promise((resolve) => setTimeout(resolve, 1800));
    const user = await own.app.service.createUser(aUser());
    assert.equal((await first)[0]?.user?.id, user.id);
    await own.close();
  });

  it('an envelope with a bad flag is INVALID_ARGUMENT', async () => {
    const bad = Buffer.from([0x07, 0, 0, 0, 2, 0x7b, 0x7d]);
    const response = await fetch(rpc('ListUsers'), {
      method: 'POST',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/connect+json' },
      body: bad,
    });
    assert.match(await response.text(), /"code":"invalid_argument"/);
  });
});

// What the gRPC transport itself must do, on either engine (`npm test` runs this on both): read
// compressed requests (from grpc-js, from C-core, and byte by byte), refuse what it cannot read in
// gRPC's own terms, and never inflate a request past the receive limit.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { after, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { GetUserRequest, User } from '../src/gen/users/v1/users.js';
import { grpcFailure } from './support/failures.js';
import { GRPC_ENGINE } from './support/engine.js';
import { aUser, until } from './support/helpers.js';
import { runPython } from './support/python.js';
import { startStack } from './support/stack.js';
import { ADMIN_TOKEN } from './support/tokens.js';

interface Answer {
  /** HTTP status. */
  status: number;
  /** gRPC status and message: from the trailers, or from the headers of a trailers-only answer. */
  grpcStatus?: number;
  grpcMessage?: string;
  /** The response messages' bytes, prefixes included. */
  data: Buffer;
}

/** One request on a raw HTTP/2 connection: exactly these headers and this body, nothing a client library adds. */
async function rawCall(port: number, headers: OutgoingHttpHeaders, body: Buffer): Promise<Answer> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        'content-type': 'application/grpc',
        te: 'trailers',
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...headers,
      });
      let responseHeaders: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (responseHeaders = h));
      stream.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('close', () => {
        const end = { ...responseHeaders, ...trailers };
        resolve({
          status: Number(responseHeaders[':status']),
          ...(end['grpc-status'] !== undefined ? { grpcStatus: Number(end['grpc-status']) } : {}),
          ...(end['grpc-message'] !== undefined ? { grpcMessage: decodeURI(String(end['grpc-message'])) } : {}),
          data: Buffer.concat(chunks),
        });
      });
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

/** One length-prefixed message; `compressed` sets the flag byte. */
function framed(bytes: Uint8Array, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

const GET_USER = '/users.v1.UserService/GetUser';

describe('gRPC transport', async () => {
  const stack = await startStack();
  const { port } = stack.server;
  const user = await stack.app.service.createUser(aUser());
  const request = Buffer.from(GetUserRequest.encode({ id: user.id }).finish());
  const userIn = (answer: Answer) => User.decode(answer.data.subarray(5)).id;

  it('reads gzip and deflate requests, sent byte by byte', async () => {
    for (const [encoding, compress] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
    ] as const) {
      const answer = await rawCall(
        port,
        { ':path': GET_USER, 'grpc-encoding': encoding },
        framed(compress(request), true),
      );
      assert.equal(answer.grpcStatus, status.OK, `${encoding}: ${answer.grpcMessage}`);
      assert.equal(userIn(answer), user.id, encoding);
    }
  });

  it('reads a compressed request from grpc-js', async () => {
    const client = new Client(stack.address, credentials.createInsecure(), {
      'grpc.default_compression_algorithm': 2, // gzip
    });
    after(() => client.close());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${ADMIN_TOKEN}`);
    const bytes = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        GET_USER,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        metadata,
        { deadline: Date.now() + 10_000 },
        (error, value) => (error ? reject(error) : resolve(value!)),
      ),
    );
    assert.equal(User.decode(bytes).id, user.id);
  });

  it('reads gzip and deflate requests from a C-core client (python3-grpcio)', async () => {
    for (const compression of ['gzip', 'deflate']) {
      const python = runPython('get_user_compressed.py', [
        stack.address,
        ADMIN_TOKEN,
        compression,
        request.toString('hex'),
      ]);
      const line = await python.nextLine();
      assert.match(line, /^ok /, `${compression}: ${line}`);
      assert.equal(User.decode(Buffer.from(line.slice(3), 'hex')).id, user.id, compression);
    }
  });

  it('refuses an encoding it does not read with UNIMPLEMENTED', async () => {
    const answer = await rawCall(port, { ':path': GET_USER, 'grpc-encoding': 'br' }, framed(request, true));
    assert.equal(answer.grpcStatus, status.UNIMPLEMENTED, answer.grpcMessage);
    assert.match(answer.grpcMessage ?? '', /br/);
  });

  it('refuses a request that inflates past the receive limit with RESOURCE_EXHAUSTED, without inflating it', async () => {
    const bomb = gzipSync(Buffer.alloc(stack.config.grpcMaxReceiveMessageBytes + 1));
    assert.ok(bomb.length < 64 * 1024, 'a small request');
    const answer = await rawCall(port, { ':path': GET_USER, 'grpc-encoding': 'gzip' }, framed(bomb, true));
    assert.equal(answer.grpcStatus, status.RESOURCE_EXHAUSTED, answer.grpcMessage);
    // The server goes on answering.
    const next = await rawCall(port, { ':path': GET_USER }, framed(request));
    assert.equal(userIn(next), user.id);
  });

  it('answers a grpc-timeout it cannot read with INTERNAL, naming it', async () => {
    const answer = await rawCall(port, { ':path': GET_USER, 'grpc-timeout': 'soon' }, framed(request));
    assert.equal(answer.grpcStatus, status.INTERNAL);
    assert.match(answer.grpcMessage ?? '', /grpc-timeout/);
  });

  it('answers a method it does not serve with UNIMPLEMENTED, and a request that is not gRPC with HTTP 415', async () => {
    const unknown = await rawCall(port, { ':path': '/users.v1.UserService/Nope' }, framed(request));
    assert.equal(unknown.status, 200);
    assert.equal(unknown.grpcStatus, status.UNIMPLEMENTED);
    const json = await rawCall(port, { ':path': GET_USER, 'content-type': 'application/json' }, Buffer.from('{}'));
    assert.equal(json.status, 415);
    assert.equal(json.grpcStatus, undefined);
  });

  it('ends a client stream whose next message passes the receive limit, and lets the call go', async () => {
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(stack.config.grpcMaxReceiveMessageBytes + 1, 1);
    const answer = await rawCall(port, { ':path': '/users.v1.UserService/CreateUsers' }, prefix);
    assert.equal(answer.grpcStatus, status.RESOURCE_EXHAUSTED, answer.grpcMessage);
    await until(() => stack.server.openStreams === 0, 'the server to let the call go');
  });
});

describe('gRPC transport: a response past the send limit', async () => {
  const stack = await startStack({ 'grpc-max-send-message-bytes': '60' });
  await stack.app.service.createUsers(Array.from({ length: 300 }, () => aUser()));
  let pages = 0;
  const listUsers = stack.app.service.listUsers.bind(stack.app.service);
  stack.app.service.listUsers = (input, context) => {
    pages++;
    return listUsers(input, context);
  };

  it('ends the stream with RESOURCE_EXHAUSTED and stops its work', async () => {
    const failure = await grpcFailure(
      (async () => {
        for await (const _ of stack.client.listUsers({ pageSize: 10 })) void _;
      })(),
    );
    assert.equal(failure.code, status.RESOURCE_EXHAUSTED);
    await until(() => stack.server.openStreams === 0, 'the server to let the call go');
    assert.ok(pages < 30, `read ${pages} of 30 pages for a call that had ended`);
  });
});

describe('gRPC transport: limits and deadlines past what a timer can wait (24.8 days)', async () => {
  const month = '2592000000';
  const stack = await startStack({ 'grpc-max-connection-idle-ms': month, 'grpc-keepalive-time-ms': month });
  const user = await stack.app.service.createUser(aUser());

  it('keeps the connection: no GOAWAY, no ping flood', async () => {
    const session = connect(`http://127.0.0.1:${stack.server.port}`);
    after(() => session.close());
    let pings = 0;
    let goaway = false;
    session.on('ping', () => pings++);
    session.on('goaway', () => (goaway = true));
    await once(session, 'connect');
    const get = () =>
      rawCall(stack.server.port, { ':path': GET_USER }, framed(GetUserRequest.encode({ id: user.id }).finish()));
    // A timer past its range fires after 1 ms: by the second call a connection would be gone, or pinged hundreds of times.
    await get();
    await until(async () => (await get()).grpcStatus === status.OK, 'a second call');
    // A round trip on the idle connection: whatever the server sent on it before has arrived.
    await new Promise<void>((resolve) => session.ping(() => resolve()));
    assert.equal(goaway, false, 'no GOAWAY');
    assert.ok(pings < 2, `${pings} pings from the server`);
  });

  it(
    'honours a 30-day deadline as a deadline, not as one already past',
    { skip: GRPC_ENGINE === 'grpc-js' && 'grpc-js answers DEADLINE_EXCEEDED at once: its deadline timer overflows' },
    async () => {
      const found = await stack.client.getUser({ id: user.id }, { deadlineMs: 30 * 24 * 3600 * 1000 });
      assert.equal(found.id, user.id);
    },
  );
});

// Slow and greedy clients: no client holds a socket past its timeout, streams are capped per
// process, and an overloaded process refuses work at once instead of queueing it. Every test is
// bounded in time and traffic, on loopback only.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, adminFetch } from './support/tokens.js';
import { connectivityState, status } from '@grpc/grpc-js';
import { grpcFailure } from './support/failures.js';
import { aUserJson, until } from './support/helpers.js';
import { parseHttp } from './support/raw.js';
import { openSse } from './support/sse.js';
import { startStack } from './support/stack.js';

/** Opens a raw connection, writes `head`, then `drip` every `everyMs` until the server closes it; resolves with its answer and how long it took. */
function dripFeed(port: number, head: string, drip: string, everyMs: number, capMs = 10_000) {
  return new Promise<{ answer: string; ms: number }>((resolve) => {
    const started = Date.now();
    let answer = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    const timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    const cap = setTimeout(() => socket.destroy(), capMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(cap);
      resolve({ answer, ms: Date.now() - started });
    });
  });
}

describe('REST timeouts', () => {
  it(
    'cuts a body sent a byte at a time at the request timeout, answering 408 in the documented body',
    { timeout: 20_000 },
    async () => {
      const { rest } = await startStack({ 'rest-request-timeout-ms': '1500', 'rest-headers-timeout-ms': '1000' });
      const head =
        'POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${ADMIN_TOKEN}\r\nContent-Length: 1000\r\n\r\n`;
      const { answer, ms } = await dripFeed(rest.port, head, ' ', 200);
      assert.ok(ms < 5000, `held for ${ms} ms`);
      const { status: code, body } = parseHttp(answer);
      assert.equal(code, 408);
      assert.equal((body as { error: { code: string } }).error.code, 'REQUEST_TIMEOUT');
    },
  );

  it('cuts headers sent a line at a time (slowloris) at the headers timeout', { timeout: 20_000 }, async () => {
    const { rest } = await startStack({ 'rest-request-timeout-ms': '3000', 'rest-headers-timeout-ms': '1000' });
    const { answer, ms } = await dripFeed(rest.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 200);
    assert.ok(ms < 4000, `held for ${ms} ms`);
    assert.equal(parseHttp(answer).status, 408);
  });

  it('closes a kept-alive connection that stays idle past the keep-alive timeout', { timeout: 20_000 }, async () => {
    const { rest } = await startStack({ 'rest-keep-alive-timeout-ms': '500' });
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const { answer, ms } = await dripFeed(rest.port, request, '', 60_000);
    assert.equal(parseHttp(answer).status, 200);
    assert.ok(ms < 3000, `idle connection held for ${ms} ms`);
  });

  it('never cuts an event stream at the request timeout', { timeout: 20_000 }, async () => {
    const { baseUrl } = await startStack({
      'rest-request-timeout-ms': '600',
      'rest-headers-timeout-ms': '300',
      'sse-heartbeat-ms': '100',
    });
    const stream = openSse(baseUrl);
    assert.equal((await stream.response).statusCode, 200);
    const opened = Date.now();
    await until(
      () => Date.now() - opened > 1500 && stream.comments.filter((c) => c === 'heartbeat').length >= 10,
      'heartbeats well past the request timeout',
      5000,
    );
    stream.close();
  });
});

describe('watch streams per process', () => {
  it('refuses the one past --max-watch-streams on every protocol, with when to retry; a stream that ends frees its slot', async () => {
    const stack = await startStack({ 'max-watch-streams': '2' });
    const sse = openSse(stack.baseUrl);
    const watch = stack.client.watchUsers();
    watch.send({});
    await until(() => stack.app.service.openWatches === 2, 'two watches');

    const refused = await adminFetch(`${stack.baseUrl}/users/events`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'TOO_MANY_STREAMS');
    const third = stack.client.watchUsers();
    third.send({});
    const grpc = await grpcFailure(drainEvents(third.events));
    assert.equal(grpc.code, status.RESOURCE_EXHAUSTED);
    assert.equal(grpc.errorType, 'TOO_MANY_STREAMS');
    assert.equal(grpc.retryInfo?.retryDelay?.seconds, 5);

    sse.close();
    await until(() => stack.app.service.openWatches === 1, 'the closed stream to free its slot');
    const again = openSse(stack.baseUrl);
    assert.equal((await again.response).statusCode, 200);
    again.close();
    watch.cancel();
  });

  it('holds many event streams without a listener warning', async () => {
    const { baseUrl, app } = await startStack();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const streams = Array.from({ length: 50 }, () => openSse(baseUrl));
    try {
      await Promise.all(streams.map((s) => s.response));
      await until(() => app.service.openWatches === 50, 'fifty streams');
    } finally {
      for (const stream of streams) stream.close();
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });
});

async function drainEvents(source: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of source) {
    // to the end
  }
}

/** Keeps this process (the server's too) busy for `ms`: what an overloaded event loop looks like. */
function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe('load shedding', () => {
  it(
    'refuses calls while the event loop lags (503 OVERLOADED / UNAVAILABLE, with when to retry), keeps health up, then recovers',
    { timeout: 30_000 },
    async () => {
      const stack = await startStack({ 'max-event-loop-delay-ms': '100' });
      const user = await stack.restClient.createUser(aUserJson());
      let rest: Response | undefined;
      await until(
        async () => {
          block(300);
          rest = await adminFetch(`${stack.baseUrl}/users/${user.id}`);
          return rest.status === 503;
        },
        'REST to refuse',
        10_000,
      );
      assert.equal(rest!.headers.get('retry-after'), '1');
      assert.equal(((await rest!.json()) as { error: { code: string } }).error.code, 'OVERLOADED');
      assert.equal((await adminFetch(`${stack.baseUrl}/healthz`)).status, 200, 'health stays open');

      let grpc: Awaited<ReturnType<typeof grpcFailure>> | undefined;
      await until(
        async () => {
          block(300);
          grpc = await grpcFailure(stack.client.getUser({ id: user.id! })).catch(() => undefined);
          return grpc?.code === status.UNAVAILABLE;
        },
        'gRPC to refuse',
        10_000,
      );
      assert.equal(grpc!.errorType, 'OVERLOADED');
      assert.equal(grpc!.retryInfo?.retryDelay?.seconds, 1);

      await until(async () => (await adminFetch(`${stack.baseUrl}/users/${user.id}`)).status === 200, 'recovery', 5000);
      assert.equal((await stack.client.getUser({ id: user.id! })).id, user.id);
    },
  );
});

describe('gRPC connections', () => {
  it(
    'closes a connection that has had no call for --grpc-max-connection-idle-ms; the client reconnects',
    { timeout: 20_000 },
    async () => {
      const stack = await startStack({ 'grpc-max-connection-idle-ms': '300' });
      const user = await stack.restClient.createUser(aUserJson());
      assert.equal((await stack.client.getUser({ id: user.id! })).id, user.id);
      const channel = stack.client.channel;
      assert.equal(channel.getConnectivityState(false), connectivityState.READY);
      await until(
        () => channel.getConnectivityState(false) === connectivityState.IDLE,
        'the server to close the idle connection',
        5000,
      );
      assert.equal((await stack.client.getUser({ id: user.id! })).id, user.id, 'a new call reconnects');
    },
  );
});

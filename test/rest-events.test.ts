import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, adminFetch, bearer } from './support/tokens.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { aUserJson, consecutive, until } from './support/helpers.js';
import { startStack } from './support/stack.js';
import { openSse } from './support/sse.js';
import { accessGate } from '../src/access/gate.js';
import { createLogger } from '../src/app/logger.js';
import { revisionExpired } from '../src/domain/errors.js';
import { errorEvent } from '../src/rest/routes/events.js';
import { buildRestApp, hostedStreams, REST_DEFAULTS } from '../src/rest/server.js';

describe('REST Server-Sent Events', async () => {
  const { baseUrl, restClient: api, app } = await startStack({ 'sse-heartbeat-ms': '50' });

  it('streams created/updated/deleted with the revision as id, filtered by user ids, with heartbeats', async () => {
    const watched = await api.createUser(aUserJson({ name: 'Watched' }));
    const stream = openSse(baseUrl, `/users/events?user_ids=${watched.id}`);
    const response = await stream.response;
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] ?? '', /^text\/event-stream/);
    await until(() => app.feed.waitingWatchers === 1, 'the watcher');
    await api.createUser(aUserJson());
    await api.updateUser(watched.id!, { name: 'Watched Again' });
    await api.deleteUser(watched.id!);
    const [updated, deleted] = await stream.waitFor(2);
    assert.equal(updated?.event, 'updated');
    assert.equal((JSON.parse(updated.data!) as { name: string }).name, 'Watched Again');
    assert.equal(deleted?.event, 'deleted');
    assert.ok(Number(deleted.id) > Number(updated.id));
    await until(() => stream.comments.includes('heartbeat'), 'a heartbeat');
    stream.close();
    await until(() => app.feed.waitingWatchers === 0, 'the listener to be removed after the client left');
  });

  it('resumes after the Last-Event-ID a reconnecting EventSource sends, and refuses one it never sent', async () => {
    const first = openSse(baseUrl, '/users/events');
    await first.response;
    await until(() => app.feed.waitingWatchers === 1, 'the watcher');
    await api.createUser(aUserJson());
    const [seen] = await first.waitFor(1);
    first.close();
    const missed = await api.createUsers([aUserJson(), aUserJson(), aUserJson()]);
    const again = openSse(baseUrl, '/users/events?after_revision=0', {
      ...bearer(ADMIN_TOKEN),
      'last-event-id': seen!.id!,
    });
    const events = await again.waitFor(3);
    again.close();
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      consecutive(Number(seen!.id) + 1, 3),
      'the header wins',
    );
    assert.deepEqual(
      events.map((e) => (JSON.parse(e.data!) as { id: string }).id),
      missed.users.map((u) => u.id),
    );
    const bad = await adminFetch(`${baseUrl}/users/events`, { headers: { 'last-event-id': 'abc' } });
    assert.equal(bad.status, 400);
    assert.equal(
      ((await bad.json()) as { error: { details: { field: string }[] } }).error.details[0]?.field,
      'Last-Event-ID',
    );
  });
});

describe('REST event stream edges', () => {
  it('answers HEAD with the stream headers and ends, starting no watch', async () => {
    const { baseUrl, app } = await startStack();
    const head = await adminFetch(`${baseUrl}/users/events`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(app.service.openWatches, 0);
  });

  it('says an error after the stream began as an SSE event in the documented body, never the raw message', () => {
    const hidden = errorEvent(new Error('SQLITE_CORRUPT: select * from users'));
    assert.equal(
      hidden,
      'event: error\ndata: {"error":{"code":"INTERNAL","message":"internal error","details":[]}}\n\n',
    );
    assert.match(errorEvent(revisionExpired(7)), /^event: error\ndata: \{"error":\{"code":"REVISION_EXPIRED"/);
  });

  it('refuses a stream (and any request) that starts after shutdown began: 503 UNAVAILABLE, not a stream never ended', async () => {
    const { app: stack } = await startStack();
    const streams = hostedStreams();
    const settings = { ...REST_DEFAULTS, gate: accessGate({ auth: 'none' }) };
    const app = await buildRestApp(stack.service, settings, createLogger('silent', false), streams);
    streams.sse.closeAll();
    for (const url of ['/users/events', '/users']) {
      const answer = await app.inject({ method: 'GET', url });
      assert.equal(answer.statusCode, 503, url);
      assert.equal(answer.json<{ error: { code: string } }>().error.code, 'UNAVAILABLE');
    }
    await app.close();
  });
});

describe('REST shutdown', () => {
  it('ends open event streams with a typed error event (UNAVAILABLE) and finishes in-flight requests, then closes', async () => {
    const { baseUrl, restClient: api, app, close } = await startStack();
    const stream = openSse(baseUrl, '/users/events');
    const response = await stream.response;
    const ended = new Promise<void>((resolve) => response.on('end', resolve));
    // The batch is in flight once the domain has it: shut down exactly then.
    const reached = new Promise<void>((resolve) => {
      const createUsers = app.service.createUsers.bind(app.service);
      app.service.createUsers = (...args) => (resolve(), createUsers(...args));
    });
    const inFlight = api.createUsers(Array.from({ length: 300 }, () => aUserJson()));
    await reached;
    await close();
    await ended;
    assert.equal((await inFlight).createdCount, 300);
    const last = stream.messages.at(-1);
    assert.equal(last?.event, 'error', 'the last event says why the stream ended');
    assert.equal((JSON.parse(last.data ?? '{}') as { error: { code: string } }).error.code, 'UNAVAILABLE');
  });
});

describe('OpenAPI and HTTP/2', async () => {
  it('publishes a valid OpenAPI 3.1 document with every route, and docs at /docs', async () => {
    const { baseUrl } = await startStack();
    const document = (await (await adminFetch(`${baseUrl}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    assert.equal(document.openapi, '3.1.0');
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const route of [
      'GET /users',
      'POST /users',
      'GET /users/{id}',
      'PATCH /users/{id}',
      'DELETE /users/{id}',
      'POST /users/batch',
      'GET /users/events',
      'GET /healthz',
      'GET /readyz',
    ]) {
      assert.ok(documented.includes(route), `${route} is documented`);
    }
    const docs = await adminFetch(`${baseUrl}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  it(
    'shuts down without waiting for HTTP/2 sessions a client keeps open: each gets a GOAWAY',
    { timeout: 10_000 },
    async () => {
      const stack = await startStack({ 'rest-http2': 'true', 'rest-idle-timeout-ms': '600000' });
      const session = http2.connect(`http://127.0.0.1:${stack.rest.port}`);
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      const ping = session.request({ ':path': '/healthz' });
      ping.resume();
      await new Promise((resolve) => ping.once('end', resolve));
      // The session stays open and idle, as clients keep them; shutdown must not wait for its idle timeout.
      await stack.close();
      await goaway;
      session.destroy();
    },
  );

  it('serves the same API over cleartext HTTP/2 when asked', async () => {
    const { rest } = await startStack({ 'rest-http2': 'true' });
    const session = http2.connect(`http://127.0.0.1:${rest.port}`);
    try {
      const post = session.request({
        ':method': 'POST',
        ':path': '/users',
        'content-type': 'application/json',
        ...bearer(ADMIN_TOKEN),
      });
      post.end(JSON.stringify({ name: 'Over H2', email: 'h2@example.com' }));
      const [headers, body] = await new Promise<[http2.IncomingHttpHeaders, string]>((resolve, reject) => {
        let data = '';
        let head: http2.IncomingHttpHeaders = {};
        post.on('response', (h) => {
          head = h;
        });
        post.setEncoding('utf8');
        post.on('data', (c: string) => {
          data += c;
        });
        post.on('end', () => resolve([head, data]));
        post.on('error', reject);
      });
      assert.equal(headers[':status'], 201);
      assert.equal((JSON.parse(body) as { name: string }).name, 'Over H2');
    } finally {
      session.close();
    }
  });
});

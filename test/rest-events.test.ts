import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { aUser, until } from './helpers.js';
import { startStack } from './stack.js';
import { type SseMessage, SseParser } from '../src/rest/sse-parser.js';

/** A raw SSE reader over node:http, so the test controls headers and disconnects. */
function openEvents(baseUrl: string, path: string, headers: Record<string, string> = {}) {
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const parser = new SseParser((comment) => comments.push(comment));
  let wake: (() => void) | undefined;
  const request = http.get(`${baseUrl}${path}`, { headers: { accept: 'text/event-stream', ...headers } });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        messages.push(...parser.push(chunk));
        wake?.();
      });
      resolve(res);
    });
    request.on('error', reject);
  });
  return {
    response,
    messages,
    comments,
    async waitFor(count: number, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > end) throw new Error(`got ${messages.length} of ${count} events`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return messages.slice(0, count);
    },
    close: () => request.destroy(),
  };
}

describe('REST Server-Sent Events', async () => {
  const { baseUrl, restClient: api, app } = await startStack({ 'sse-heartbeat-ms': '50' });

  it('streams created/updated/deleted with the revision as id, filtered by user ids, with heartbeats', async () => {
    const watched = await api.createUser({ name: 'Watched', email: 'watched@example.com' });
    const stream = openEvents(baseUrl, `/users/events?user_ids=${watched.id}`);
    const response = await stream.response;
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] ?? '', /^text\/event-stream/);
    await until(() => app.feed.waitingWatchers === 1, 'the watcher');
    await api.createUser({ name: 'Other', email: 'other-sse@example.com' });
    await api.updateUser(watched.id!, { name: 'Watched Again' });
    await api.deleteUser(watched.id!);
    const [updated, deleted] = await stream.waitFor(2);
    assert.equal(updated?.event, 'updated');
    assert.equal(JSON.parse(updated!.data!).name, 'Watched Again');
    assert.equal(deleted?.event, 'deleted');
    assert.ok(Number(deleted!.id) > Number(updated!.id));
    await until(() => stream.comments.includes('heartbeat'), 'a heartbeat');
    stream.close();
    await until(() => app.feed.waitingWatchers === 0, 'the listener to be removed after the client left');
  });

  it('resumes after Last-Event-ID (or after_revision) with no gap and no duplicate', async () => {
    const first = openEvents(baseUrl, '/users/events');
    await first.response;
    await until(() => app.feed.waitingWatchers === 1, 'the watcher');
    await api.createUser({ name: 'One', email: 'one-sse@example.com' });
    const [seen] = await first.waitFor(1);
    first.close();
    const missed = await api.createUsers(
      Array.from({ length: 3 }, () => {
        const u = aUser();
        return { name: u.name, email: u.email };
      }),
    );
    for (const resume of [{ headers: { 'last-event-id': seen!.id! } }, { query: `?after_revision=${seen!.id}` }]) {
      const again = openEvents(baseUrl, `/users/events${resume.query ?? ''}`, resume.headers);
      const events = await again.waitFor(3);
      assert.deepEqual(
        events.map((e) => Number(e.id)),
        [1, 2, 3].map((i) => Number(seen!.id) + i),
      );
      assert.deepEqual(
        events.map((e) => JSON.parse(e.data!).id),
        missed.users.map((u) => u.id),
      );
      again.close();
    }
  });

  it('answers a bad or expired revision with an HTTP error before streaming', async () => {
    const bad = await fetch(`${baseUrl}/users/events`, { headers: { 'last-event-id': 'abc' } });
    assert.equal(bad.status, 400);
    const ahead = await fetch(`${baseUrl}/users/events?after_revision=999999`);
    assert.equal(ahead.status, 400);
    const small = await startStack({ 'event-retention': '2' });
    await small.restClient.createUsers(
      Array.from({ length: 5 }, () => {
        const u = aUser();
        return { name: u.name, email: u.email };
      }),
    );
    const expired = await fetch(`${small.baseUrl}/users/events?after_revision=1`);
    assert.equal(expired.status, 410);
    assert.equal(((await expired.json()) as { error: { code: string } }).error.code, 'REVISION_EXPIRED');
  });
});

describe('REST shutdown', () => {
  it('ends open event streams and finishes in-flight requests, then closes', async () => {
    const { baseUrl, restClient: api, close } = await startStack();
    const stream = openEvents(baseUrl, '/users/events');
    const response = await stream.response;
    const ended = new Promise<void>((resolve) => response.on('end', resolve));
    const inFlight = api.createUsers(
      Array.from({ length: 300 }, () => {
        const u = aUser();
        return { name: u.name, email: u.email };
      }),
    );
    await new Promise((r) => setTimeout(r, 5));
    await close();
    await ended;
    assert.equal((await inFlight).createdCount, 300);
  });
});

describe('OpenAPI and HTTP/2', async () => {
  it('publishes a valid OpenAPI 3.1 document with every route, and docs at /docs', async () => {
    const { baseUrl } = await startStack();
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    assert.equal(document.openapi, '3.1.0');
    const result = await new Validator().validate(document as never);
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
    const docs = await fetch(`${baseUrl}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  it('serves the same API over cleartext HTTP/2 when asked', async () => {
    const { rest } = await startStack({ 'rest-http2': 'true' });
    const session = http2.connect(`http://127.0.0.1:${rest.port}`);
    try {
      const post = session.request({ ':method': 'POST', ':path': '/users', 'content-type': 'application/json' });
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
      assert.equal(JSON.parse(body).name, 'Over H2');
    } finally {
      session.close();
    }
  });
});

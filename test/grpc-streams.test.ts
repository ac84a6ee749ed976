import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { UserClient } from '../src/grpc/client.js';
import { CreateUserRequest, type UserEvent, UserEvent_EventType as EventType } from '../src/gen/users/v1/users.js';
import { grpcFailure } from './support/failures.js';
import { aUser, consecutive, take, until } from './support/helpers.js';
import { runPython } from './support/python.js';
import { ADMIN_TOKEN } from './support/tokens.js';
import { type LogLine, startStack } from './support/stack.js';

const codeOf = async (call: Promise<unknown>) => (await grpcFailure(call)).code;

async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('gRPC ListUsers (server streaming)', async () => {
  const { client, app, server } = await startStack();
  // Long tags make the whole listing (about 1.5 MB) far larger than what the transport buffers
  // between a server and a client that stopped reading (HTTP/2 windows, stream and socket buffers:
  // about 200 KB on Node 24, whose streams' high-water marks are four times Node 20's).
  const tags = Array.from({ length: 16 }, (_, t) => `${t}`.padEnd(64, 'x'));
  const created = await app.service.createUsers(
    Array.from({ length: 1200 }, (_, i) => aUser({ name: i % 3 ? `Plain ${i}` : `Starred ${i}`, tags })),
  );
  const newestFirst = [...created].reverse();

  it('streams every matching user, newest first, in batches of page_size', async () => {
    const all = await drain(client.listUsers({ pageSize: 100 }));
    assert.deepEqual(
      all.map((u) => u.id),
      newestFirst.map((u) => u.id),
    );
    const starred = await drain(client.listUsers({ filter: 'STARRED' }));
    assert.equal(starred.length, 400);
  });

  it('starts after page_token', async () => {
    const first = await app.service.listUsers({ pageSize: 500 });
    const { nextPageToken } = await app.service.listUsers({ pageSize: 500, pageToken: first.nextPageToken });
    const rest = await drain(client.listUsers({ pageToken: nextPageToken, pageSize: 50 }));
    assert.deepEqual(
      rest.map((u) => u.id),
      newestFirst.slice(1000).map((u) => u.id),
    );
  });

  it('rejects a bad page_size or page_token with INVALID_ARGUMENT', async () => {
    assert.equal(await codeOf(drain(client.listUsers({ pageSize: 501 }))), status.INVALID_ARGUMENT);
    assert.equal(await codeOf(drain(client.listUsers({ pageToken: 'junk' }))), status.INVALID_ARGUMENT);
  });

  it('stops reading the store while the client is slow, and stops when cancelled', async () => {
    const pages: number[] = [];
    const original = app.service.listUsers.bind(app.service);
    app.service.listUsers = async (input) => {
      pages.push(Date.now());
      return original(input);
    };
    try {
      const abort = new AbortController();
      const iterator = client.listUsers({ pageSize: 20 }, { signal: abort.signal })[Symbol.asyncIterator]();
      await iterator.next(); // then reads no more: a slow consumer
      await until(() => server.streamsWaitingForClient === 1, 'the server to wait for the client');
      abort.abort();
      assert.equal(await codeOf(drain({ [Symbol.asyncIterator]: () => iterator })), status.CANCELLED);
      await until(() => server.openStreams === 0, 'the server to end the call');
      // What the transport buffers (HTTP/2 flow-control windows, sockets) was read; never the whole list.
      const fetched = pages.length;
      assert.ok(fetched < 60, `fetched ${fetched} of 60 pages while the client read one user`);
      await client.getUser({ id: created[0]!.id }); // a round trip after the end: a page read late would show now
      assert.equal(pages.length, fetched, 'no page was read after the call ended: the cancel ended it');
    } finally {
      app.service.listUsers = original;
    }
  });

  it('ends a stream that outlives its deadline with DEADLINE_EXCEEDED', async () => {
    const deadline = Date.now() + 200;
    const iterator = client.listUsers({ pageSize: 20 }, { deadlineMs: 200 })[Symbol.asyncIterator]();
    await iterator.next(); // then reads no more, so the stream is still open at its deadline
    await until(() => server.streamsWaitingForClient === 1, 'the server to wait for the client');
    await until(() => server.openStreams === 0 && Date.now() > deadline, 'the deadline to end the call');
    assert.equal(await codeOf(drain({ [Symbol.asyncIterator]: () => iterator })), status.DEADLINE_EXCEEDED);
  });
});

describe('gRPC CreateUsers (client streaming)', async () => {
  const logs: LogLine[] = [];
  const { client, app, server, address } = await startStack({ 'log-level': 'info' }, { logs });

  it('creates nothing when a client resets the stream before it is complete (C-core client)', async () => {
    const before = (await app.service.listUsersByOffset({})).totalCount;
    const requests = [aUser(), aUser()].map((u) =>
      Buffer.from(CreateUserRequest.encode(CreateUserRequest.fromPartial(u)).finish()).toString('hex'),
    );
    const python = runPython('create_users_cancel.py', [address, ADMIN_TOKEN, ...requests]);
    assert.equal(await python.nextLine(), 'sent');
    await until(() => server.openStreams === 1, 'the server to take the call');
    python.send('cancel');
    assert.equal(await python.nextLine(), 'code CANCELLED');
    await until(() => server.openStreams === 0, 'the server to let the call go');
    assert.equal((await app.service.listUsersByOffset({})).totalCount, before, 'a cut-off batch is not a batch');
    assert.deepEqual(
      logs.filter((l) => l.level >= 50),
      [],
      'nothing logged as an error',
    );
  });

  it('takes a grpc-js client that cancels for what it is, not an internal error', async () => {
    // Node's HTTP/2 client half-closes before it resets, so the server may take the batch as whole
    // (the catalogue: a cancelled write may have committed); either way nothing is an error.
    const abort = new AbortController();
    async function* halfABatch() {
      yield aUser();
      await new Promise((resolve) => abort.signal.addEventListener('abort', resolve));
    }
    const call = grpcFailure(client.createUsers(halfABatch(), { signal: abort.signal }));
    await until(() => server.openStreams === 1, 'the server to take the call');
    abort.abort();
    assert.equal((await call).code, status.CANCELLED);
    await until(() => server.openStreams === 0, 'the server to let the call go');
    assert.deepEqual(
      logs.filter((l) => l.level >= 50),
      [],
      'nothing logged as an error',
    );
  });

  it('creates every streamed user atomically', async () => {
    const before = (await app.service.listUsersByOffset({})).totalCount;
    const response = await client.createUsers(Array.from({ length: 250 }, () => aUser()));
    assert.equal(response.createdCount, 250);
    assert.equal(response.users.length, 250);
    assert.equal((await app.service.listUsersByOffset({})).totalCount, before + 250);
  });

  it('fails the whole call on one bad item, naming its index', async () => {
    const before = (await app.service.listUsersByOffset({})).totalCount;
    const bad = await grpcFailure(client.createUsers([aUser(), aUser(), aUser({ email: 'broken' })]));
    assert.equal(bad.code, status.INVALID_ARGUMENT);
    assert.equal(bad.badRequest?.fieldViolations[0]?.field, 'users[2].email');
    assert.equal((await app.service.listUsersByOffset({})).totalCount, before);
  });

  it('writes nothing for a batch whose deadline passes before the client finished sending it', async () => {
    const before = (await app.service.listUsersByOffset({})).totalCount;
    const deadline = Date.now() + 300;
    async function* late() {
      yield aUser();
      await until(() => Date.now() > deadline + 50, 'the deadline to pass', 5000);
      yield aUser();
    }
    const failure = await grpcFailure(client.createUsers(late(), { deadlineMs: 300 }));
    assert.equal(failure.code, status.DEADLINE_EXCEEDED);
    await until(() => server.openStreams === 0, 'the server to end the call');
    assert.equal((await app.service.listUsersByOffset({})).totalCount, before);
  });

  it('answers an empty stream with created_count 0', async () => {
    assert.deepEqual(await client.createUsers([]), { users: [], createdCount: 0 });
  });
});

describe('gRPC WatchUsers (bidirectional)', async () => {
  const { client, app } = await startStack();

  it('delivers events for the watched users, widened by later requests', async () => {
    const a = await client.createUser(aUser());
    const b = await client.createUser(aUser());
    const watch = client.watchUsers();
    const got: UserEvent[] = [];
    void (async () => {
      for await (const event of watch.events) got.push(event);
    })().catch(() => {});
    watch.send({ userIds: [a.id] });
    await until(() => app.feed.waitingWatchers === 1, 'the watch to start');
    await client.updateUser({ user: { id: b.id, name: 'Not yet watched' }, updateMask: ['name'] });
    await client.updateUser({ user: { id: a.id, name: 'A1' }, updateMask: ['name'] });
    await until(() => got.length === 1, 'the event of the watched user');
    watch.send({ userIds: [b.id] });
    // No acknowledgement exists for a widening request: change b until the watch reports it.
    let round = 0;
    await until(async () => {
      await client.updateUser({ user: { id: b.id, name: `B${round++}` }, updateMask: ['name'] });
      return got.some((e) => e.user?.id === b.id);
    }, 'the widened watch to see b');
    await client.deleteUser({ id: a.id });
    await until(() => got.at(-1)?.type === EventType.EVENT_TYPE_DELETED, 'the deletion');
    assert.deepEqual(
      got.map((e) => e.user?.id).filter((id) => id === a.id),
      [a.id, a.id],
    );
    assert.ok(
      got.every((e, i) => i === 0 || e.revision > got[i - 1]!.revision),
      'revisions increase',
    );
    assert.equal(got.filter((e) => e.user?.name === 'Not yet watched').length, 0, 'nothing of b before it was added');
    watch.cancel();
    await until(() => app.feed.waitingWatchers === 0, 'the listener to go');
  });

  it('keeps watching after the client half-closes: a long replay arrives whole, then live events', async () => {
    const start = await app.feed.sync().then(() => app.feed.headRevision);
    await client.createUsers(Array.from({ length: 1006 }, () => aUser()));
    const watch = client.watchUsers();
    watch.send({ afterRevision: start });
    watch.end(); // as grpcurl -d does: "no more requests", not "stop"
    const replayed = await take(watch.events, 1006, 15_000);
    assert.deepEqual(
      replayed.map((e) => e.revision),
      consecutive(start + 1, 1006),
    );
    const live = take(watch.events, 1);
    const created = await client.createUser(aUser());
    assert.equal((await live)[0]?.user?.id, created.id);
    watch.cancel();
  });

  it('refuses after_revision on any request but the first with INVALID_ARGUMENT', async () => {
    const twice = client.watchUsers();
    twice.send({});
    twice.send({ afterRevision: 0 });
    const second = await grpcFailure(drain(twice.events));
    assert.equal(second.code, status.INVALID_ARGUMENT);
    assert.equal(second.badRequest?.fieldViolations[0]?.field, 'after_revision');
  });

  it('ends with DEADLINE_EXCEEDED at the deadline and leaves no listener behind', async () => {
    const watch = client.watchUsers({ deadlineMs: 200 });
    watch.send({});
    assert.equal(await codeOf(drain(watch.events)), status.DEADLINE_EXCEEDED);
    await until(() => app.feed.waitingWatchers === 0, 'the listener to go');
  });
});

describe('a streaming call whose client leaves while it is still being admitted', () => {
  /**
   * A stack whose identity provider answers only when told to, and a client with a token the
   * stack has not seen: its admission (verifying against the JWKS) is pending until released.
   */
  async function slowAdmission() {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'slow', alg: 'RS256', use: 'sig' };
    const held: (() => void)[] = [];
    const provider = http.createServer((_request, response) => {
      const body = JSON.stringify({ keys: [jwk] });
      held.push(() => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
    });
    provider.listen(0, '127.0.0.1');
    await once(provider, 'listening');
    after(() => provider.close());
    const url = `http://127.0.0.1:${(provider.address() as { port: number }).port}/jwks.json`;
    const { server, address } = await startStack({ 'jwt-secret': '', 'jwt-jwks-url': url });
    const token = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'slow' })
      .setSubject(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
      .sign(privateKey);
    const client = new UserClient({ address, token });
    after(() => client.close());
    return { server, client, held };
  }

  async function leaveDuringAdmission(start: (client: UserClient, signal: AbortSignal) => Promise<unknown>) {
    const { server, client, held } = await slowAdmission();
    const abort = new AbortController();
    const call = start(client, abort.signal);
    await until(() => server.openStreams === 1 && held.length > 0, 'the call to wait for its admission');
    abort.abort();
    assert.equal(await codeOf(call), status.CANCELLED);
    for (const answer of held.splice(0)) answer();
    await until(() => server.openStreams === 0, 'the server to let the call go');
  }

  it('CreateUsers ends, not waiting forever for a stream that is gone', async () => {
    await leaveDuringAdmission((client, signal) =>
      client.createUsers(
        (async function* () {
          yield aUser();
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
        })(),
        { signal },
      ),
    );
  });

  it('WatchUsers ends, holding no watch slot', async () => {
    await leaveDuringAdmission((client, signal) => {
      const stream = client.watchUsers({ signal });
      stream.send({ userIds: [] });
      return drain(stream.events);
    });
  });
});

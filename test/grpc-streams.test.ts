import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { describeError } from '../src/grpc/client.js';
import { type UserEvent, UserEvent_EventType as EventType } from '../src/gen/users/v1/users.js';
import { aUser, take, until } from './helpers.js';
import { startStack } from './stack.js';

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (error) {
    return describeError(error).code;
  }
  return undefined;
}

async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('gRPC ListUsers (server streaming)', async () => {
  const { client, app } = await startStack();
  const created = await app.service.createUsers(
    Array.from({ length: 1200 }, (_, i) => aUser({ name: i % 3 ? `Plain ${i}` : `Starred ${i}` })),
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
      await iterator.next();
      await new Promise((r) => setTimeout(r, 300)); // a slow consumer
      const fetchedWhilePaused = pages.length;
      assert.ok(fetchedWhilePaused < 60, `fetched ${fetchedWhilePaused} of 60 pages while the client read one user`);
      abort.abort();
      assert.equal(await codeOf(drain({ [Symbol.asyncIterator]: () => iterator })), status.CANCELLED);
      const afterCancel = pages.length;
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(pages.length <= afterCancel + 1, 'the server stopped paging after the cancel');
    } finally {
      app.service.listUsers = original;
    }
  });

  it('ends a stream that outlives its deadline with DEADLINE_EXCEEDED', async () => {
    const iterator = client.listUsers({ pageSize: 20 }, { deadlineMs: 200 })[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await codeOf(drain({ [Symbol.asyncIterator]: () => iterator })), status.DEADLINE_EXCEEDED);
  });
});

describe('gRPC CreateUsers (client streaming)', async () => {
  const { client, app } = await startStack();

  it('creates every streamed user atomically', async () => {
    const response = await client.createUsers(Array.from({ length: 250 }, () => aUser()));
    assert.equal(response.createdCount, 250);
    assert.equal(response.users.length, 250);
    assert.equal((await app.service.listUsersByOffset({})).totalCount, 250);
  });

  it('fails the whole call on one bad item, naming its index', async () => {
    const before = (await app.service.listUsersByOffset({})).totalCount;
    let error: unknown;
    try {
      await client.createUsers([aUser(), aUser(), aUser({ email: 'broken' })]);
    } catch (e) {
      error = e;
    }
    const info = describeError(error);
    assert.equal(info.code, status.INVALID_ARGUMENT);
    assert.equal(info.badRequest?.fieldViolations[0]?.field, 'users[2].email');
    const taken = await client.createUser(aUser());
    assert.equal(
      describeError(await client.createUsers([aUser(), { ...aUser(), email: taken.email }]).catch((e: unknown) => e))
        .errorInfo?.metadata.index,
      '1',
    );
    assert.equal((await app.service.listUsersByOffset({})).totalCount, before + 1);
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
    watch.send({ userIds: [a.id] });
    await until(() => app.feed.waitingWatchers === 1, 'the watch to start');
    const events = take(watch.events, 3);
    await client.updateUser({ user: { id: b.id, name: 'Not yet watched' }, updateMask: ['name'] });
    await client.updateUser({ user: { id: a.id, name: 'A1' }, updateMask: ['name'] });
    watch.send({ userIds: [b.id] });
    // No acknowledgement exists for a widening request: give the server time to read it.
    await new Promise((r) => setTimeout(r, 200));
    await client.updateUser({ user: { id: b.id, name: 'B1' }, updateMask: ['name'] });
    await client.deleteUser({ id: a.id });
    const got = await events;
    assert.deepEqual(
      got.map((e) => [e.type, e.user?.id]),
      [
        [EventType.EVENT_TYPE_UPDATED, a.id],
        [EventType.EVENT_TYPE_UPDATED, b.id],
        [EventType.EVENT_TYPE_DELETED, a.id],
      ],
    );
    assert.ok(got[0]!.revision < got[1]!.revision && got[1]!.revision < got[2]!.revision);
    watch.end();
    assert.deepEqual(await drain(watch.events), [], 'the server ends the stream cleanly after the client ends');
    await until(() => app.feed.waitingWatchers === 0, 'the listener to go');
  });

  it('resumes after a reconnect with no gap and no duplicate', async () => {
    const first = client.watchUsers();
    first.send({});
    await until(() => app.feed.waitingWatchers === 1, 'the watch to start');
    const seen = take(first.events, 2);
    await client.createUser(aUser());
    await client.createUser(aUser());
    const before = await seen;
    first.cancel();
    await until(() => app.feed.waitingWatchers === 0, 'the cancelled watch to go');

    const missed = await client.createUsers(Array.from({ length: 5 }, () => aUser()));
    const second = client.watchUsers();
    second.send({ afterRevision: before.at(-1)!.revision });
    const received = take(second.events, 6);
    const lastOne = await client.createUser(aUser());
    const events: UserEvent[] = await received;
    const expectedRevisions = Array.from({ length: 6 }, (_, i) => before.at(-1)!.revision + 1 + i);
    assert.deepEqual(
      events.map((e) => e.revision),
      expectedRevisions,
    );
    assert.deepEqual(
      events.slice(0, 5).map((e) => e.user?.id),
      missed.users.map((u) => u.id),
    );
    assert.equal(events[5]?.user?.id, lastOne.id);
    second.cancel();
  });

  it('answers an expired revision with FAILED_PRECONDITION and a later after_revision with INVALID_ARGUMENT', async () => {
    const small = await startStack({ 'event-retention': '5' });
    await small.app.service.createUsers(Array.from({ length: 1500 }, () => aUser()));
    await small.app.feed.sync();
    const expired = small.client.watchUsers();
    expired.send({ afterRevision: 1 });
    const failure = describeError(await drain(expired.events).catch((e: unknown) => e));
    assert.equal(failure.code, status.FAILED_PRECONDITION);
    assert.equal(failure.errorType, 'REVISION_EXPIRED');

    const twice = client.watchUsers();
    twice.send({});
    twice.send({ afterRevision: 0 });
    const second = describeError(await drain(twice.events).catch((e: unknown) => e));
    assert.equal(second.code, status.INVALID_ARGUMENT);
    assert.equal(second.badRequest?.fieldViolations[0]?.field, 'after_revision');
  });

  it('ends with DEADLINE_EXCEEDED at the deadline and leaves no listener behind', async () => {
    const watch = client.watchUsers({ deadlineMs: 200 });
    watch.send({});
    const result = describeError(await drain(watch.events).catch((e: unknown) => e));
    assert.equal(result.code, status.DEADLINE_EXCEEDED);
    await until(() => app.feed.waitingWatchers === 0, 'the listener to go');
  });
});

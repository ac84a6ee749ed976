import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DomainError, ErrorCode } from '../src/domain/errors.js';
import { isBookmark, type UserEvent, type WatchEvent } from '../src/domain/user.js';
import { rejectsWith } from './support/failures.js';
import { aUser, changing, openStack, take, until } from './support/helpers.js';

const everyone = new Set<string>();

/** Events that must all be changes (these watches' feeds send bookmarks after a minute at the soonest). */
const changes = (events: WatchEvent[]): UserEvent[] =>
  events.map((event) => {
    if (isBookmark(event)) throw new Error(`an unexpected bookmark (${event.revision})`);
    return event;
  });

/** The next item of a watch; fails after 5 s (or when the watch ends). */
async function next(events: AsyncIterator<WatchEvent>): Promise<WatchEvent> {
  const [event] = await take({ [Symbol.asyncIterator]: () => events }, 1);
  if (!event) throw new Error('the watch ended');
  return event;
}

describe('change log and watch', () => {
  it('appends one event per change, with strictly increasing revisions, in the same transaction', async () => {
    const { service, store } = await openStack();
    const user = await service.createUser(aUser());
    await service.updateUser(user.id, changing({ name: 'Renamed' }));
    await service.createUsers([aUser(), aUser()]);
    await service.deleteUser(user.id);
    await rejectsWith(service.createUsers([aUser(), aUser({ email: 'bad' })]), ErrorCode.INVALID_ARGUMENT);
    await rejectsWith(service.updateUser(user.id, changing({ name: 'gone' })), ErrorCode.USER_NOT_FOUND);

    const events = await store.changeLog.readAfter(0, 100);
    assert.deepEqual(
      events.map((e) => e.revision),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['EVENT_TYPE_CREATED', 'EVENT_TYPE_UPDATED', 'EVENT_TYPE_CREATED', 'EVENT_TYPE_CREATED', 'EVENT_TYPE_DELETED'],
    );
    assert.equal(events[1]?.user?.name, 'Renamed');
    assert.equal(events[4]?.user?.id, user.id, 'a deletion carries the user as it was');
    assert.equal(await store.changeLog.headRevision(), 5);
  });

  it('delivers live changes to a watcher, filtered by user id, and lets go of it when the watcher stops', async () => {
    const { service, feed } = await openStack({ pollIntervalMs: 60_000 });
    const watched = await service.createUser(aUser());
    const abort = new AbortController();
    const events = (await service.watchUsers({ userIds: new Set([watched.id]), signal: abort.signal }))[
      Symbol.asyncIterator
    ]();
    const first = events.next();
    await service.createUser(aUser()); // not watched
    await service.updateUser(watched.id, changing({ name: 'Watched Once' }));
    const updated = (await first).value as UserEvent;
    assert.equal(updated.type, 'EVENT_TYPE_UPDATED');
    assert.equal(updated.user.name, 'Watched Once');
    // Caught up, the watcher waits for the next change; stopping it must take it off the feed.
    const next = events.next();
    await until(() => feed.waitingWatchers === 1, 'the watcher to wait for the next change');
    abort.abort();
    assert.equal(feed.waitingWatchers, 0, 'no listener left behind');
    assert.equal((await next).done, true);
  });

  it('lets a watcher that reconnects with its last revision miss nothing and see nothing twice', async () => {
    const { service } = await openStack({ recentCapacity: 5 }); // small window: resumes read the database
    const first = new AbortController();
    const stream = await service.watchUsers({ userIds: everyone, signal: first.signal });
    const seen = take(stream, 3);
    for (let i = 0; i < 3; i++) await service.createUser(aUser());
    const before = await seen;
    first.abort();
    const last = before.at(-1)!.revision;

    // Changes made while disconnected, more than the memory window holds.
    const missed = await service.createUsers(Array.from({ length: 12 }, () => aUser()));
    const second = new AbortController();
    const resumed = await service.watchUsers({ userIds: everyone, afterRevision: last, signal: second.signal });
    const after = take(resumed, 14);
    const live = await service.createUser(aUser());
    await service.updateUser(live.id, changing({ name: 'Live' }));
    const events = changes(await after);
    second.abort();

    assert.deepEqual(
      events.map((e) => e.revision),
      Array.from({ length: 14 }, (_, i) => last + 1 + i),
    );
    assert.deepEqual(
      events.slice(0, 12).map((e) => e.user?.id),
      missed.map((u) => u.id),
    );
    assert.equal(events[13]?.user?.name, 'Live');
  });

  it('expires revisions older than the retention, and rejects future ones', async () => {
    const { service, feed, store } = await openStack({ retention: 10, pruneEvery: 5, recentCapacity: 2 });
    await service.createUsers(Array.from({ length: 30 }, () => aUser()));
    await feed.sync();
    const headRevision = await store.changeLog.headRevision();
    assert.equal(headRevision, 30);
    assert.equal((await store.changeLog.readAfter(0, 100)).length, 10, 'pruned to the retention');

    const watch = async (afterRevision: number) =>
      take(await service.watchUsers({ userIds: everyone, afterRevision, signal: AbortSignal.timeout(2000) }), 1);
    const expired = await rejectsWith<DomainError>(watch(5), ErrorCode.REVISION_EXPIRED);
    assert.equal(expired.metadata.after_revision, '5');
    await rejectsWith(watch(19), ErrorCode.REVISION_EXPIRED);
    assert.equal((await watch(20))[0]?.revision, 21, 'the oldest kept revision still resumes');
    const ahead = await rejectsWith<DomainError>(watch(31), ErrorCode.INVALID_ARGUMENT);
    assert.equal(ahead.violations[0]?.field, 'after_revision');
    await rejectsWith(
      service.watchUsers({ userIds: everyone, afterRevision: -1, signal: AbortSignal.timeout(10) }),
      ErrorCode.INVALID_ARGUMENT,
    );
  });

  it('sees changes committed by another process through polling', async () => {
    const { path, service } = await openStack({ pollIntervalMs: 20 });
    const other = await openStack({}, path); // a second store and feed on the same file
    const abort = new AbortController();
    const received = take(await service.watchUsers({ userIds: everyone, signal: abort.signal }), 1);
    const created = await other.service.createUser(aUser());
    assert.equal(changes(await received)[0]?.user.id, created.id);
    abort.abort();
  });

  it('ends watches when the feed closes', async () => {
    // No poll in this test's time: only closing can wake the watcher.
    const { service, feed } = await openStack({ pollIntervalMs: 60_000 });
    const iterator = (await service.watchUsers({ userIds: everyone, signal: new AbortController().signal }))[
      Symbol.asyncIterator
    ]();
    const next = iterator.next();
    await until(() => feed.waitingWatchers === 1, 'the watcher to wait');
    await feed.close();
    assert.equal((await next).done, true);
  });

  it('sends a quiet watcher a bookmark of how far it has read, while others change: resuming after it misses nothing', async () => {
    const { service } = await openStack({ bookmarkIntervalMs: 40, pollIntervalMs: 60_000 });
    const watched = await service.createUser(aUser());
    // Its revision, not the feed's head: the feed may not have read the commit yet (PostgreSQL).
    const start = watched.revision;
    const stop = new AbortController();
    const watch = async (bookmarks?: boolean) =>
      (
        await service.watchUsers({
          userIds: new Set([watched.id]),
          afterRevision: start,
          signal: stop.signal,
          ...(bookmarks === undefined ? {} : { bookmarks }),
        })
      )[Symbol.asyncIterator]();
    const [quiet, optedOut] = [await watch(), await watch(false)];
    const bookmarked = next(quiet);
    const unchanged = next(optedOut);
    const others = await service.createUsers([aUser(), aUser(), aUser()]); // not watched
    const bookmark = await bookmarked;
    assert.deepEqual(bookmark, { type: 'EVENT_TYPE_BOOKMARK', revision: others.at(-1)!.revision });

    // A watcher started after that bookmark gets its own (it was told no revision): time for a repeat has passed.
    const later = (await service.watchUsers({ userIds: everyone, signal: stop.signal }))[Symbol.asyncIterator]();
    assert.deepEqual(await next(later), { type: 'EVENT_TYPE_BOOKMARK', revision: bookmark.revision });
    const renamed = await service.updateUser(watched.id, changing({ name: 'After The Bookmark' }));
    const change = await next(quiet);
    assert.equal(change.revision, renamed.revision, 'no second bookmark of the same revision came first');
    assert.equal((await unchanged).revision, renamed.revision, 'a watcher that opted out got no bookmark');
    const resumed = await service.watchUsers({
      userIds: everyone,
      afterRevision: bookmark.revision,
      signal: stop.signal,
    });
    assert.deepEqual(
      changes(await take(resumed, 1)).map((e) => e.user.id),
      [watched.id],
      'resuming after the bookmark gives the change after it, nothing before',
    );
    stop.abort();
  });

  it("ends a watch when its caller's credentials expire (UNAUTHENTICATED), not before", async () => {
    const { service } = await openStack({ pollIntervalMs: 60_000 });
    const stop = new AbortController();
    const principal = (expiresAt: number) => ({ subject: 'someone', role: 'user' as const, expiresAt });
    const expiresAt = Date.now() + 150;
    const expiring = await service.watchUsers({
      userIds: everyone,
      signal: stop.signal,
      principal: principal(expiresAt),
    });
    // Longer than a Node timer can wait (24.8 days): it must not fire at once.
    const lasting = await service.watchUsers({
      userIds: everyone,
      signal: stop.signal,
      principal: principal(Date.now() + 30 * 86_400_000),
    });
    const expired = await rejectsWith<DomainError>(take(expiring, 1), ErrorCode.UNAUTHENTICATED);
    assert.ok(Date.now() >= expiresAt, 'not before the credentials expired');
    assert.match(expired.message, /expired while the watch was open/);
    const created = await service.createUser(aUser());
    assert.equal(changes(await take(lasting, 1))[0]?.user.id, created.id, 'a long-lived token still watches');
    assert.equal(service.openWatches, 1, 'the expired watch let go of its slot');
    stop.abort();
  });

  it('ends a live watcher that fell behind what the log keeps with REVISION_EXPIRED', async () => {
    const { service, feed } = await openStack({
      retention: 10,
      pruneEvery: 5,
      recentCapacity: 2,
      pollIntervalMs: 60_000,
    });
    const stop = new AbortController();
    const events = (await service.watchUsers({ userIds: everyone, signal: stop.signal }))[Symbol.asyncIterator]();
    const first = next(events);
    await service.createUser(aUser());
    await first;
    // The watcher reads nothing while 30 changes commit and the log is pruned past it.
    await service.createUsers(Array.from({ length: 30 }, () => aUser()));
    await feed.sync();
    await rejectsWith(
      (async () => {
        for (;;) await next(events);
      })(),
      ErrorCode.REVISION_EXPIRED,
    );
    stop.abort();
  });
});

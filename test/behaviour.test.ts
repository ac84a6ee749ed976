// What must hold on every protocol: one suite, run against each adapter (and, through
// `npm run test:postgres`, on each engine). Protocol-only matters (headers, media types, status
// details encodings, streaming flow control) live in the grpc-* and rest-* suites.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../src/domain/errors.js';
import { apisOf, failsWith } from './support/apis.js';
import { aUser, consecutive, until } from './support/helpers.js';
import { startStack } from './support/stack.js';

const stack = await startStack();
const small = await startStack({ 'event-retention': '2' });

/** A word no other test's users contain, for filters. */
const unique = (label: string) => `${label}${Math.random().toString(36).slice(2, 8)}`;

// Each protocol, with the next one as the second client that must see the same.
const pairs = apisOf(stack).map((api, i, all) => [api, all[(i + 1) % all.length]!] as const);
for (const [api, other] of pairs) {
  describe(`behaviour over ${api.name}`, () => {
    it('creates, reads, updates only the named fields and deletes a user; the other protocol sees the same', async () => {
      const created = await api.createUser({ ...aUser(), name: ' Ada ', role: 'USER_ROLE_ADMIN', tags: ['math'] });
      assert.equal(created.name, 'Ada', 'trimmed');
      assert.equal(created.role, 'USER_ROLE_ADMIN');
      assert.deepEqual(await api.getUser(created.id), created);
      assert.deepEqual(await other.getUser(created.id), created);

      const renamed = await api.updateUser(created.id, { name: 'Ada Lovelace' });
      assert.equal(renamed.name, 'Ada Lovelace');
      assert.equal(renamed.email, created.email, 'fields not named are untouched');
      assert.deepEqual(renamed.tags, ['math']);
      assert.ok(renamed.updatedAt >= created.updatedAt);

      await api.deleteUser(created.id);
      await failsWith(api, api.getUser(created.id), ErrorCode.USER_NOT_FOUND);
      await failsWith(api, api.deleteUser(created.id), ErrorCode.USER_NOT_FOUND);
      await failsWith(api, api.updateUser(created.id, { name: 'x' }), ErrorCode.USER_NOT_FOUND);
    });

    it('defaults the role to USER_ROLE_USER', async () => {
      assert.equal((await api.createUser(aUser())).role, 'USER_ROLE_USER');
    });

    it('reports every bad field at once with INVALID_ARGUMENT, and stores nothing', async () => {
      const filter = unique('Invalid');
      const error = await failsWith(
        api,
        api.createUser({ name: '', email: `${filter}-nope`, tags: [''] }),
        ErrorCode.INVALID_ARGUMENT,
      );
      assert.deepEqual(error.fields.sort(), ['email', 'name', 'tags[0]']);
      const role = await failsWith(api, api.createUser({ ...aUser(), role: 'UNKNOWN' }), ErrorCode.INVALID_ARGUMENT);
      assert.deepEqual(role.fields, ['role']);
      assert.deepEqual(await api.listAll(filter), []);
    });

    it('keeps emails unique case-insensitively, on create and on update', async () => {
      const taken = await api.createUser(aUser());
      const duplicate = await failsWith(
        api,
        api.createUser({ ...aUser(), email: taken.email.toUpperCase() }),
        ErrorCode.EMAIL_ALREADY_EXISTS,
      );
      assert.deepEqual(duplicate.fields, ['email']);
      const second = await api.createUser(aUser());
      await failsWith(api, api.updateUser(second.id, { email: taken.email }), ErrorCode.EMAIL_ALREADY_EXISTS);
      assert.equal((await api.getUser(second.id)).email, second.email);
    });

    it('refuses an update that changes nothing or has a bad value', async () => {
      const user = await api.createUser(aUser());
      const empty = await failsWith(api, api.updateUser(user.id, {}), ErrorCode.INVALID_ARGUMENT);
      assert.equal(empty.fields.length, 1, 'one violation names the empty list of fields');
      const bad = await failsWith(api, api.updateUser(user.id, { email: 'bad' }), ErrorCode.INVALID_ARGUMENT);
      assert.deepEqual(bad.fields, ['email']);
      assert.deepEqual(await api.getUser(user.id), user);
    });

    it('creates a batch atomically, naming the bad or duplicate item by its index', async () => {
      const filter = unique('Batch');
      const created = await api.createUsers([aUser({ name: `${filter} 1` }), aUser({ name: `${filter} 2` })]);
      assert.equal(created.length, 2);
      const invalid = await failsWith(
        api,
        api.createUsers([aUser({ name: `${filter} 3` }), { name: `${filter} 4`, email: 'broken' }]),
        ErrorCode.INVALID_ARGUMENT,
      );
      assert.deepEqual(invalid.fields, ['users[1].email']);
      const duplicate = await failsWith(
        api,
        api.createUsers([aUser({ name: `${filter} 5` }), { name: `${filter} 6`, email: created[0]!.email }]),
        ErrorCode.EMAIL_ALREADY_EXISTS,
      );
      assert.equal(duplicate.metadata.index, '1');
      assert.deepEqual(
        (await api.listAll(filter)).map((u) => u.name),
        [`${filter} 2`, `${filter} 1`],
      );
    });

    it('lists newest first, filters case-insensitively and takes LIKE wildcards literally', async () => {
      const word = unique('List');
      for (const name of [`${word} 100% real`, `${word} 1000 fake`, `${word} under_score`]) {
        await api.createUser(aUser({ name }));
      }
      const names = (filter: string) => api.listAll(filter).then((users) => users.map((u) => u.name));
      assert.deepEqual(await names(word.toUpperCase()), [
        `${word} under_score`,
        `${word} 1000 fake`,
        `${word} 100% real`,
      ]);
      assert.deepEqual(await names(`${word} 100%`), [`${word} 100% real`]);
      assert.deepEqual(await names(`${word} under_`), [`${word} under_score`]);
    });

    it('delivers live changes of the watched users, and resumes after a revision with no gap or duplicate', async () => {
      const watched = await api.createUser(aUser());
      const waiting = stack.app.feed.waitingWatchers;
      const live = api.watch({ userIds: [watched.id] });
      await until(() => stack.app.feed.waitingWatchers > waiting, 'the watch to start');
      await other.createUser(aUser()); // not watched
      await other.updateUser(watched.id, { name: 'Watched Once' });
      await other.deleteUser(watched.id);
      const [updated, deleted] = await live.take(2);
      live.close();
      assert.equal(updated?.type, 'EVENT_TYPE_UPDATED');
      assert.equal(updated?.user.name, 'Watched Once');
      assert.equal(deleted?.type, 'EVENT_TYPE_DELETED');
      assert.equal(deleted?.user.id, watched.id, 'a deletion carries the user as it was');

      const missed = await other.createUsers([aUser(), aUser(), aUser()]);
      const resumed = api.watch({ afterRevision: deleted.revision });
      const events = await resumed.take(3);
      resumed.close();
      assert.deepEqual(
        events.map((e) => e.revision),
        consecutive(deleted.revision + 1, 3),
      );
      assert.deepEqual(
        events.map((e) => e.user.id),
        missed.map((u) => u.id),
      );
    });

    it('refuses to resume from a revision the log no longer keeps, or one it has not reached', async () => {
      const [smallApi] = apisOf(small).filter((a) => a.name === api.name);
      await smallApi!.createUsers([aUser(), aUser(), aUser(), aUser(), aUser()]);
      await small.app.feed.sync();
      const expired = await smallApi!.watch({ afterRevision: 1 }).failure();
      assert.equal(expired.code, ErrorCode.REVISION_EXPIRED);
      assert.equal(expired.status, api.statusOf(ErrorCode.REVISION_EXPIRED));
      const ahead = await api.watch({ afterRevision: 1e9 }).failure();
      assert.equal(ahead.code, ErrorCode.INVALID_ARGUMENT);
      assert.deepEqual(ahead.fields, ['after_revision']);
    });
  });
}

describe('behaviour when the database fails', () => {
  it('answers INTERNAL with nothing of the cause on every protocol', async () => {
    const broken = await startStack();
    const user = await broken.app.service.createUser(aUser());
    // Break the database underneath the running servers (the feed first: it would be mid-read).
    await broken.app.feed.close();
    await broken.app.store.close();
    for (const api of apisOf(broken)) {
      const error = await failsWith(api, api.getUser(user.id), ErrorCode.INTERNAL);
      assert.match(error.message, /internal error$/);
    }
  });
});

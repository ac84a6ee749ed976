// What a client can build on, on every protocol: the revision a listing reflects (list, then watch
// after it), conditional writes (If-Match / etag) and idempotent creates (Idempotency-Key /
// request_id). Run on both engines (test:postgres) and both gRPC engines (test:grpc-js).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Informer } from '../src/clients/informer.js';
import { type DomainError, ErrorCode } from '../src/domain/errors.js';
import { newUser } from '../src/domain/user.js';
import { ApiError, apisOf, apiWithToken, failsWith } from './support/apis.js';
import { thrown } from './support/failures.js';
import { aUser, until } from './support/helpers.js';
import { startStack } from './support/stack.js';
import { adminFetch, expiryOf, tokenOf } from './support/tokens.js';

const stack = await startStack();
const strict = await startStack({ 'require-if-match': 'true' });
const bookmarking = await startStack({ 'bookmark-interval-ms': '100' });

const key = () => `key-${Math.random().toString(36).slice(2)}`;

for (const [api, strictApi, bookmarkingApi] of apisOf(stack).map(
  (a, i) => [a, apisOf(strict)[i]!, apisOf(bookmarking)[i]!] as const,
)) {
  describe(`consistency over ${api.name}`, () => {
    it('says the revision a listing reflects: a watch after it gives exactly the changes since, none before', async () => {
      const user = await api.createUser(aUser());
      const listing = await api.client.listing();
      assert.ok(listing.revision >= user.revision, 'the listing reflects the create it shows');
      const shown = listing.users.find((u) => u.id === user.id);
      assert.equal(shown?.revision, user.revision);
      const watch = api.watch({ afterRevision: listing.revision });
      try {
        const renamed = await api.updateUser(user.id, { name: 'After The Listing' });
        const [event] = await watch.take(1);
        assert.equal(event!.revision, renamed.revision, 'the first event is the first change after the listing');
        assert.equal(event!.revision, listing.revision + 1, 'with no change missed in between');
      } finally {
        watch.close();
      }
    });

    it('gives every user its revision and etag, which change with every write', async () => {
      const created = await api.createUser(aUser());
      assert.ok(created.revision > 0);
      assert.equal(created.etag, `"r${created.revision}"`);
      const updated = await api.updateUser(created.id, { tags: ['x'] });
      assert.ok(updated.revision > created.revision);
      assert.equal((await api.getUser(created.id)).etag, updated.etag);
    });

    it('writes only the version named by If-Match / etag: PRECONDITION_FAILED on a changed user, with its revision now', async () => {
      const user = await api.createUser(aUser());
      const first = await api.updateUser(user.id, { name: 'First Writer' }, { ifMatch: user.etag });
      const late = await failsWith(
        api,
        api.updateUser(user.id, { name: 'Second Writer' }, { ifMatch: user.etag }),
        ErrorCode.PRECONDITION_FAILED,
      );
      assert.equal(late.metadata.revision, String(first.revision));
      assert.equal((await api.getUser(user.id)).name, 'First Writer', 'the late write changed nothing');
      await failsWith(api, api.deleteUser(user.id, { ifMatch: user.etag }), ErrorCode.PRECONDITION_FAILED);
      await api.getUser(user.id); // still there
      await failsWith(
        api,
        api.updateUser(user.id, { name: 'x' }, { ifMatch: 'W/"nonsense"' }),
        ErrorCode.INVALID_ARGUMENT,
      );
      await api.updateUser(user.id, { name: 'Any Version' }, { ifMatch: '*' });
      const now = await api.getUser(user.id);
      await api.deleteUser(user.id, { ifMatch: now.etag });
      await failsWith(api, api.getUser(user.id), ErrorCode.USER_NOT_FOUND);
      await failsWith(api, api.deleteUser(user.id, { ifMatch: now.etag }), ErrorCode.USER_NOT_FOUND);
    });

    it('lets one of two writers with the same etag win, the other PRECONDITION_FAILED (no lost update)', async () => {
      const user = await api.createUser(aUser());
      const results = await Promise.allSettled(
        ['One', 'Two', 'Three'].map((name) => api.updateUser(user.id, { name }, { ifMatch: user.etag })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one conditional write wins');
      for (const r of results) {
        if (r.status === 'rejected') assert.equal((r.reason as ApiError).code, ErrorCode.PRECONDITION_FAILED);
      }
    });

    it('with --require-if-match, refuses an update or delete without a version (PRECONDITION_REQUIRED); * will do', async () => {
      const user = await strictApi.createUser(aUser());
      await failsWith(strictApi, strictApi.updateUser(user.id, { name: 'x' }), ErrorCode.PRECONDITION_REQUIRED);
      await failsWith(strictApi, strictApi.deleteUser(user.id), ErrorCode.PRECONDITION_REQUIRED);
      await strictApi.updateUser(user.id, { name: 'Star' }, { ifMatch: '*' });
      await strictApi.deleteUser(user.id, { ifMatch: (await strictApi.getUser(user.id)).etag });
    });

    it('answers a retried create (same Idempotency-Key / request_id, same fields) with the first result, writing nothing', async () => {
      const idempotencyKey = key();
      const fields = aUser();
      const first = await api.createUser(fields, { idempotencyKey });
      const before = (await api.client.listing()).revision;
      const again = await api.createUser(fields, { idempotencyKey });
      assert.deepEqual(again, first, 'the same user: same id, same version');
      assert.equal((await api.client.listing()).revision, before, 'no write: the change log did not move');
      const other = await failsWith(
        api,
        api.createUser({ ...fields, name: 'Someone Else' }, { idempotencyKey }),
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
      );
      assert.equal(other.fields.length, 1);
      await failsWith(
        api,
        api.createUser(aUser(), { idempotencyKey: 'bad key with spaces' }),
        ErrorCode.INVALID_ARGUMENT,
      );
    });

    it('answers a retried batch create with the first batch, writing nothing', async () => {
      const idempotencyKey = key();
      const batch = [aUser(), aUser()];
      const first = await api.createUsers(batch, { idempotencyKey });
      const again = await api.createUsers(batch, { idempotencyKey });
      assert.deepEqual(
        again.map((u) => u.id),
        first.map((u) => u.id),
      );
      await failsWith(api, api.createUsers([aUser()], { idempotencyKey }), ErrorCode.IDEMPOTENCY_KEY_REUSED);
    });

    it('sends a quiet watcher bookmarks of how far it has read; resuming after one misses nothing; opting out sends none', async () => {
      const watched = await bookmarkingApi.createUser(aUser());
      const quiet = bookmarkingApi.watchWithBookmarks({ afterRevision: watched.revision, userIds: [watched.id] });
      const optedOut = bookmarkingApi.watch({ afterRevision: watched.revision, userIds: [watched.id] });
      const { service } = bookmarking.app;
      try {
        await until(() => service.openWatches === 2, 'both watches open on the server');
        const others = await bookmarkingApi.createUsers([aUser(), aUser()]); // not watched
        const [bookmark] = await quiet.take(1);
        assert.equal(bookmark!.type, 'EVENT_TYPE_BOOKMARK');
        assert.ok(bookmark!.revision >= others.at(-1)!.revision, 'it has read past the changes it does not select');
        // A watch opened after both gets its own first bookmark: by then a bookmark interval has
        // passed for the opted-out one too, which would have had one by now.
        const later = bookmarkingApi.watchWithBookmarks({});
        try {
          assert.equal((await later.take(1))[0]!.type, 'EVENT_TYPE_BOOKMARK');
        } finally {
          later.close();
        }
        const renamed = await bookmarkingApi.updateUser(watched.id, { name: 'After A Bookmark' });
        // The opted-out watch fails on any bookmark: its first event is the change.
        assert.deepEqual(
          (await optedOut.take(1)).map((e) => e.revision),
          [renamed.revision],
        );
        const resumed = bookmarkingApi.watch({ afterRevision: bookmark!.revision, userIds: [watched.id] });
        try {
          assert.deepEqual(
            (await resumed.take(1)).map((e) => [e.user.id, e.revision]),
            [[watched.id, renamed.revision]],
          );
        } finally {
          resumed.close();
        }
      } finally {
        quiet.close();
        optedOut.close();
      }
    });

    it('ends a watch whose token expires while it is open with UNAUTHENTICATED (REST: event: error)', async () => {
      const token = await tokenOf('admin', 'admin', '3s');
      const watch = apiWithToken(stack, api.name, token).watch({});
      const ended = await watch.failure();
      assert.ok(Date.now() >= expiryOf(token), 'not before the token expired');
      assert.equal(ended.code, ErrorCode.UNAUTHENTICATED);
      assert.match(ended.message, /expired while the watch was open/);
      // REST sent 200 when the stream began: the error arrives in the stream, as the documented body.
      assert.equal(ended.status, api.name === 'rest' ? 200 : api.statusOf(ErrorCode.UNAUTHENTICATED));
    });

    it(
      'keeps an informer (list, then watch after the listing) equal to the service while writers run',
      { timeout: 60_000 },
      async () => {
        const mine = await api.createUsers(Array.from({ length: 20 }, () => aUser()));
        const writers = (async () => {
          await Promise.all(
            [0, 1, 2].map(async (w) => {
              for (let i = 0; i < 15; i++) {
                const target = mine[(w * 7 + i) % mine.length]!;
                if (i % 5 === 4) await api.createUser(aUser());
                else await api.updateUser(target.id, { name: `Writer ${w} step ${i}` }).catch(() => undefined);
              }
              await api.deleteUser(mine[w]!.id);
            }),
          );
        })();
        const informer = await Informer.start(api.client); // while the writers run
        try {
          await writers;
          const truth = await api.client.listing();
          await informer.synced(truth.revision);
          const local = [...informer.users.values()].map((u) => `${u.id} ${u.revision} ${u.name}`).sort();
          const remote = truth.users.map((u) => `${u.id} ${u.revision} ${u.name}`).sort();
          assert.deepEqual(local, remote);
        } finally {
          await informer.close();
        }
      },
    );
  });
}

describe('REST: ETag and If-Match', () => {
  it('takes the ETag a GET sent as If-Match, and says the listing revision in X-Revision', async () => {
    const user = await stack.restClient.createUser(aUser());
    const got = await adminFetch(`${stack.baseUrl}/users/${user.id}`);
    const etag = got.headers.get('etag')!;
    const patched = await adminFetch(`${stack.baseUrl}/users/${user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'if-match': etag },
      body: JSON.stringify({ name: 'Via Header ETag' }),
    });
    assert.equal(patched.status, 200);
    const stale = await adminFetch(`${stack.baseUrl}/users/${user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'if-match': etag },
      body: JSON.stringify({ name: 'Too Late' }),
    });
    assert.equal(stale.status, 412);
    assert.equal(((await stale.json()) as { error: { code: string } }).error.code, 'PRECONDITION_FAILED');
    const list = await adminFetch(`${stack.baseUrl}/users?limit=1`);
    const body = (await list.json()) as { revision: string };
    assert.match(list.headers.get('x-revision') ?? '', /^\d+$/);
    assert.equal(body.revision, list.headers.get('x-revision'));
  });
});

describe('idempotency keys in the database', () => {
  it('hold across instances on one database', async () => {
    const second = await startStack({ db: stack.config.db });
    const idempotencyKey = key();
    const fields = aUser();
    const first = await stack.restClient.createUser(fields, { idempotencyKey });
    const again = await second.restClient.createUser(fields, { idempotencyKey });
    assert.equal(again.id, first.id);
  });

  it('expire: a key kept since before its time is a new create, and pruning deletes it', async () => {
    const fields = aUser();
    const subject = 'expiry-test';
    const request = { subject, key: key(), field: 'request_id', fingerprint: 'f', keptSince: 0 };
    const store = stack.app.store;
    const made = await store.insertUsersOnce([newUser(fields)], () => 'email', request);
    assert.ok('events' in made);
    const replay = await store.insertUsersOnce([newUser(fields)], () => 'email', request);
    assert.ok('replayed' in replay, 'within its time: replayed');
    const later = await thrown(
      store.insertUsersOnce([newUser(fields)], () => 'email', { ...request, keptSince: Date.now() + 1000 }),
    );
    assert.equal(
      (later as DomainError).code,
      ErrorCode.EMAIL_ALREADY_EXISTS,
      'past its time: a new create (of a taken email)',
    );
    assert.ok((await store.pruneIdempotencyKeys(Date.now() + 1000)) >= 1);
  });
});

describe('informer', () => {
  it('fails its waits, and its close, with what ended its watch (the server shut down), on every protocol', async () => {
    const doomed = await startStack();
    const apis = apisOf(doomed);
    const informers = await Promise.all(apis.map((api) => Informer.start(api.client)));
    const waits = informers.map((informer) => thrown(informer.synced(Number.MAX_SAFE_INTEGER)));
    await until(() => doomed.app.service.openWatches === apis.length, 'every informer to watch');
    await doomed.close();
    for (const [i, wait] of waits.entries()) {
      const error = await wait;
      assert.ok(error instanceof ApiError, `${apis[i]!.name}: ${String(error)}`);
      assert.equal(error.code, ErrorCode.UNAVAILABLE, apis[i]!.name);
      assert.equal(await thrown(informers[i]!.close()), error, 'close says the same');
    }
  });
});

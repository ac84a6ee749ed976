// Substring search and totals served from indexes and counters (issue: scale with data): the same
// answers as testing every name, on both engines, on fresh and on migrated databases.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { DomainError } from '../src/domain/errors.js';
import { LIMITS } from '../src/domain/user.js';
import { searchKey } from '../src/domain/text.js';
import type { User } from '../src/domain/user.js';
import { UserService } from '../src/domain/user-service.js';
import { openStore } from '../src/store/open.js';
import { FILTERED_PAGE } from '../src/store/sql-store.js';
import { ENGINE } from './support/engine.js';
import { aUser, changing, openStack, tempDir, until } from './support/helpers.js';
import { startStack } from './support/stack.js';
import { ADMIN_TOKEN } from './support/tokens.js';

// Letters that fold (A, İ, É spelled two ways, ß), LIKE's and FTS5's special characters, an emoji.
const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'İ', 'é', 'E\u0301', 'ß', '%', '_', '\\', '"', '*', ' ', '😀'];

const NO_FEED = {
  notify() {},
  committed() {},
  watch: () => Promise.reject(new Error('not watched here')),
};

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function randomText(next: () => number, min: number, max: number): string {
  const length = min + Math.floor(next() * (max - min + 1));
  return Array.from({ length }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join('');
}

/** Every user the listing returns for `filter`, page by page through the cursor. */
async function allMatching(service: UserService, filter: string, pageSize: number): Promise<string[]> {
  const ids: string[] = [];
  let pageToken = '';
  do {
    const page = await service.listUsers({ filter, pageSize, pageToken });
    ids.push(...page.users.map((u) => u.id));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return ids;
}

/** What the search must answer: every user whose name holds the filter, compared as the domain compares text. */
function expected(users: readonly User[], filter: string): string[] {
  const key = searchKey(filter);
  return users
    .filter((u) => searchKey(u.name).includes(key))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0))
    .map((u) => u.id);
}

/** Runs `work` with the filtered-page strategy's bounds set to `bounds`, then puts them back. */
async function withBounds(bounds: typeof FILTERED_PAGE, work: () => Promise<void>): Promise<void> {
  const saved = { ...FILTERED_PAGE };
  Object.assign(FILTERED_PAGE, bounds);
  try {
    await work();
  } finally {
    Object.assign(FILTERED_PAGE, saved);
  }
}

describe(`search and totals on ${ENGINE}`, () => {
  it('finds exactly the users whose names hold the filter, on random names and filters, through every path', async () => {
    const { service } = await openStack();
    const next = random(19);
    const users: User[] = [];
    // Wrapped in letters: names are trimmed, and a name must not be blank.
    // A third hold "dab": a filter dense enough for the walks to fill pages.
    const names = Array.from(
      { length: 240 },
      (_, i) => `x${randomText(next, 0, 6)}${i % 3 ? '' : 'dab'}${randomText(next, 0, 4)}x`,
    );
    for (let i = 0; i < names.length; i += 60)
      users.push(...(await service.createUsers(names.slice(i, i + 60).map((name) => aUser({ name })))));
    const filters = [
      ...Array.from({ length: 40 }, () => {
        const name = Array.from(names[Math.floor(next() * names.length)]!); // code points: never half an emoji
        const start = Math.floor(next() * name.length);
        return name.slice(start, start + 1 + Math.floor(next() * 5)).join('');
      }),
      ...Array.from({ length: 40 }, () => randomText(next, 1, 5)),
      'dab',
      'DA',
      'xx',
      'x',
      'ss', // ß folds to itself in lower case, never to "ss": no match unless a name holds "ss"
      'i̇', // İ lower-cased
    ].filter((f) => f.trim() !== '');
    // Small bounds push filters down each path of the strategy: the walk, the index, the longer walk.
    const strategies = [
      { walkRows: 1000, walkToSortCost: 0.1, walkMargin: 4, sortableMax: 10_000 },
      { walkRows: 2, walkToSortCost: 100, walkMargin: 4, sortableMax: 10_000 },
      { walkRows: 2, walkToSortCost: 0.001, walkMargin: 1, sortableMax: 10_000 },
      // Below 1, the longer walk often falls short too, and the page comes from the index after all.
      { walkRows: 2, walkToSortCost: 0.01, walkMargin: 0.01, sortableMax: 3 },
    ];
    for (const bounds of strategies) {
      await withBounds(bounds, async () => {
        for (const filter of filters) {
          const want = expected(users, filter);
          assert.deepEqual(await allMatching(service, filter, 7), want, `filter ${JSON.stringify(filter)}`);
          const offset = await service.listUsersByOffset({ filter, limit: 5, page: 2 });
          assert.deepEqual(
            offset.users.map((u) => u.id),
            want.slice(5, 10),
          );
          assert.equal(offset.totalCount, want.length, `total of ${JSON.stringify(filter)}`);
          assert.equal(offset.totalCountIsLowerBound, false);
        }
      });
    }
  });

  it('keeps the index in step with creates, renames and deletes', async () => {
    const { service, store } = await openStack();
    const ada = await service.createUser(aUser({ name: 'Ada Lovelace' }));
    const grace = await service.createUser(aUser({ name: 'Grace Hopper' }));
    const ids = async (filter: string) => (await allMatching(service, filter, 10)).sort();
    assert.deepEqual(await ids('lovelace'), [ada.id]);
    await service.updateUser(ada.id, changing({ name: 'Ada King' }));
    assert.deepEqual(await ids('lovelace'), []);
    assert.deepEqual(await ids('king'), [ada.id]);
    await service.updateUser(grace.id, changing({ tags: ['navy'] }));
    assert.deepEqual(await ids('hopper'), [grace.id], 'a change of other fields keeps the name findable');
    await service.deleteUser(grace.id);
    assert.deepEqual(await ids('hopper'), []);
    if (ENGINE === 'sqlite') {
      // VACUUM may renumber the rowids of a table without an INTEGER PRIMARY KEY; users has one
      // (seq) so that the index's pointers stay right.
      await sql`vacuum`.execute(store.db);
      await service.updateUser(ada.id, changing({ name: 'Ada Byron' }));
      assert.deepEqual(await ids('byron'), [ada.id]);
      assert.deepEqual(await ids('king'), []);
    }
  });

  it('counts every user from the count each write keeps: batches, failed batches, deletes', async () => {
    const { service } = await openStack();
    const total = async () => (await service.listUsersByOffset({})).totalCount;
    const batch = await service.createUsers(Array.from({ length: 30 }, () => aUser()));
    assert.equal(await total(), 30);
    const taken = batch[0]!.email;
    await assert.rejects(service.createUsers([aUser(), aUser({ email: taken })]));
    assert.equal(await total(), 30, 'a failed batch counts nothing');
    await service.deleteUser(batch[1]!.id);
    await assert.rejects(service.deleteUser(batch[1]!.id));
    assert.equal(await total(), 29, 'a delete counts once, a failed one not at all');
    const page = await service.listUsersByOffset({ limit: 10, page: 3 });
    assert.equal(page.users.length, 9);
    assert.equal(page.nextPageToken, '');
  });

  it('counts a filter’s matches up to the offset cap, then says the total is a lower bound', async () => {
    const { store, service } = await openStack();
    await service.createUsers(Array.from({ length: 12 }, () => aUser({ name: 'Ada Lovelace' })));
    await service.createUsers(Array.from({ length: 3 }, () => aUser({ name: 'Ad' })));
    for (const nameContains of ['ada', 'ad']) {
      const capped = await store.listUsersByOffset({ nameContains, limit: 5, offset: 0, countUpTo: 10 });
      assert.deepEqual([capped.totalCount, capped.totalCountIsLowerBound], [10, true], nameContains);
      const exact = await store.listUsersByOffset({ nameContains, limit: 5, offset: 0, countUpTo: 15 });
      assert.equal(exact.totalCountIsLowerBound, false);
    }
    assert.equal(
      (await store.listUsersByOffset({ nameContains: 'ada', limit: 5, offset: 0, countUpTo: 12 })).totalCount,
      12,
    );
  });

  it('REST says a capped total in a header and in the page', async () => {
    const stack = await startStack();
    const { service } = stack.app;
    const count = LIMITS.offsetMax + 1;
    for (let i = 0; i < count; i += 500)
      await service.createUsers(
        Array.from({ length: Math.min(500, count - i) }, () => aUser({ name: 'Ada Lovelace' })),
      );
    const get = async (path: string) => {
      let response: Response | undefined;
      // Seeding blocked the event loop for a while: the load shedder may refuse until its delay decays.
      await until(
        async () => {
          response = await fetch(`${stack.baseUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
          return response.status !== 503;
        },
        'the server takes calls again',
        10_000,
      );
      assert.equal(response!.status, 200, await response!.clone().text());
      return { headers: response!.headers, page: (await response!.json()) as Record<string, unknown> };
    };
    const capped = await get('/users?filter=LOVE&limit=100');
    assert.equal(capped.headers.get('x-total-count'), String(LIMITS.offsetMax));
    assert.equal(capped.headers.get('x-total-count-is-lower-bound'), 'true');
    assert.equal(capped.page.totalCount, LIMITS.offsetMax);
    assert.equal(capped.page.totalCountIsLowerBound, true);
    assert.match(capped.headers.get('link') ?? '', new RegExp(`page=${LIMITS.offsetMax / 100}>; rel="last"`));
    const exact = await get('/users?limit=1');
    assert.equal(exact.headers.get('x-total-count'), String(count));
    assert.equal(exact.headers.get('x-total-count-is-lower-bound'), null);
    assert.equal(exact.page.totalCountIsLowerBound, false);
  });

  it(
    'runs long reads on SQLite reader threads: a read after a write sees it; past the queue a read is refused OVERLOADED',
    { skip: ENGINE !== 'sqlite' && 'reader threads are SQLite’s; PostgreSQL reads through its connection pool' },
    async () => {
      const path = join(tempDir(), 'readers.db');
      const opened = await openStore(path, { readers: 1 });
      after(() => opened.store.close());
      const service = new UserService(opened.store, NO_FEED);
      const pool = opened.pool!;
      assert.equal(pool.max, 1);
      for (let i = 0; i < 20; i++) {
        const created = await service.createUser(aUser({ name: `Reader Test ${i}` }));
        assert.deepEqual(
          (await service.listUsers({ filter: `test ${i}`, pageSize: 5 })).users.map((u) => u.id),
          [created.id],
          'it sees the write that returned before it',
        );
        assert.equal(pool.used(), 0);
      }
      const burst = await Promise.allSettled(
        // One statement each: a two-character filter is one walk of the listing (no index, no count).
        Array.from({ length: 100 }, () => service.listUsers({ filter: 're' })),
      );
      const refused = burst.filter((r) => r.status === 'rejected');
      assert.equal(burst.length - refused.length, 1 + 64, 'one running on the reader, 64 waiting for it');
      for (const r of refused) assert.equal((r.reason as DomainError).code, 'OVERLOADED');
      const unpooled = await openStore(join(tempDir(), 'no-readers.db'), { readers: 0 });
      assert.equal(unpooled.pool, undefined, '--sqlite-readers 0 reads on the main thread');
      await unpooled.store.close();
    },
  );
});

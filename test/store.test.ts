import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { type DomainError, ErrorCode } from '../src/domain/errors.js';
import { PAGE_SIZE } from '../src/domain/pagination.js';
import type { User } from '../src/domain/user.js';
import { UserService } from '../src/domain/user-service.js';
import { migrator } from '../src/store/migrations.js';
import { openStore } from '../src/store/open.js';
import { type Dialect, SqlUserStore, USERS_PER_READ } from '../src/store/sql-store.js';
import { currentSchema, isPostgresUrl, postgresKysely } from '../src/store/postgres.js';
import { openSqliteDatabase, sqliteKysely } from '../src/store/sqlite.js';
import { testDatabase } from './support/databases.js';
import { ENGINE } from './support/engine.js';
import { rejectsWith } from './support/failures.js';
import { aUser, changing, openStack } from './support/helpers.js';
import { secondInstance } from './support/second-instance.js';

const noFeed = {
  notify() {},
  committed() {},
  watch: () => {
    throw new Error('unused');
  },
};

describe(`store on ${ENGINE}`, () => {
  it('lets exactly one of simultaneous creates with one email win, across connections', async () => {
    const { path, service } = await openStack();
    const other = await secondInstance(path);
    for (let round = 0; round < 20; round++) {
      const email = `race${round}@example.com`;
      const [remote, ...local] = await Promise.allSettled([
        other.call('createUser', aUser({ email: email.toUpperCase() })),
        service.createUser(aUser({ email })),
        service.createUser(aUser({ email })),
      ]);
      const remoteReply = (remote as PromiseFulfilledResult<{ ok: boolean; code?: string }>).value;
      const wins = local.filter((r) => r.status === 'fulfilled').length + (remoteReply.ok ? 1 : 0);
      assert.equal(wins, 1, `round ${round}`);
      for (const r of local) {
        if (r.status === 'rejected') assert.equal((r.reason as DomainError).code, ErrorCode.EMAIL_ALREADY_EXISTS);
      }
      if (!remoteReply.ok) assert.equal(remoteReply.code, ErrorCode.EMAIL_ALREADY_EXISTS);
    }
  });

  it('lists newest first, filters case-insensitively, and keeps cursors stable under inserts', async () => {
    const { service } = await openStack();
    const created = [];
    for (let i = 0; i < 25; i++)
      created.push(await service.createUser(aUser({ name: i % 2 ? `Odd ${i}` : `Even ${i}` })));
    const newestFirst = [...created].reverse().map((u) => u.id);

    const first = await service.listUsers({ pageSize: 10 });
    assert.deepEqual(
      first.users.map((u) => u.id),
      newestFirst.slice(0, 10),
    );
    assert.notEqual(first.nextPageToken, '');

    // New users arrive between pages: they are newer, so they never shift later pages.
    await service.createUser(aUser());
    await service.createUser(aUser());
    const seen = [...first.users];
    let token = first.nextPageToken;
    while (token) {
      const page = await service.listUsers({ pageSize: 10, pageToken: token });
      seen.push(...page.users);
      token = page.nextPageToken;
    }
    assert.deepEqual(
      seen.map((u) => u.id),
      newestFirst,
    );

    const odd = await service.listUsers({ filter: 'oDD', pageSize: 100 });
    assert.equal(odd.users.length, 12);
    assert.ok(odd.users.every((u) => u.name.startsWith('Odd')));
    assert.equal(odd.nextPageToken, '');
  });

  it('serves offset pages with a total count', async () => {
    const { service } = await openStack();
    for (let i = 0; i < 7; i++) await service.createUser(aUser({ name: `Paged ${i}` }));
    const page2 = await service.listUsersByOffset({ filter: 'paged', page: 2, limit: 3 });
    assert.equal(page2.totalCount, 7);
    assert.deepEqual(
      page2.users.map((u) => u.name),
      ['Paged 3', 'Paged 2', 'Paged 1'],
    );
    const page4 = await service.listUsersByOffset({ filter: 'paged', page: 4, limit: 3 });
    assert.deepEqual(page4.users, []);
  });

  it('bounds page sizes and rejects bad tokens', async () => {
    const { service } = await openStack();
    const invalid = async (p: Promise<unknown>, field: string) => {
      const error = await rejectsWith<DomainError>(p, ErrorCode.INVALID_ARGUMENT);
      assert.equal(error.violations[0]?.field, field);
    };
    await invalid(service.listUsers({ pageSize: PAGE_SIZE.max + 1 }), 'page_size');
    await invalid(service.listUsers({ pageSize: -1 }), 'page_size');
    await invalid(service.listUsers({ pageToken: 'garbage' }), 'page_token');
    await invalid(service.listUsers({ pageToken: Buffer.from('{"v":2}').toString('base64url') }), 'page_token');
    await invalid(service.listUsersByOffset({ page: 0 }), 'page');
    await invalid(service.listUsersByOffset({ limit: 501 }), 'limit');
    for (let i = 0; i < 3; i++) await service.createUser(aUser({ name: `Tok ${i}` }));
    const { nextPageToken } = await service.listUsers({ filter: 'tok', pageSize: 1 });
    await invalid(service.listUsers({ filter: 'other', pageToken: nextPageToken }), 'page_token');
  });

  it('creates a batch atomically and names the bad item', async () => {
    const { service } = await openStack();
    const taken = await service.createUser(aUser());
    const before = (await service.listUsersByOffset({})).totalCount;

    const invalid = await rejectsWith<DomainError>(
      service.createUsers([aUser(), aUser({ email: 'bad' }), aUser(), aUser({ name: '' })]),
      ErrorCode.INVALID_ARGUMENT,
    );
    assert.deepEqual(
      invalid.violations.map((v) => v.field),
      ['users[1].email', 'users[3].name'],
    );

    const duplicate = await rejectsWith<DomainError>(
      service.createUsers([aUser(), aUser(), aUser({ email: taken.email.toUpperCase() })]),
      ErrorCode.EMAIL_ALREADY_EXISTS,
    );
    assert.equal(duplicate.metadata.index, '2');
    assert.equal(duplicate.violations[0]?.field, 'users[2].email');

    const repeated = await rejectsWith<DomainError>(
      service.createUsers([aUser({ email: 'same@example.com' }), aUser({ email: 'SAME@example.com' })]),
      ErrorCode.EMAIL_ALREADY_EXISTS,
    );
    assert.equal(repeated.metadata.index, '1');

    assert.equal((await service.listUsersByOffset({})).totalCount, before, 'no user of a failed batch was kept');
    const users = await service.createUsers(Array.from({ length: 1200 }, () => aUser()));
    assert.equal(users.length, 1200);
    assert.equal((await service.listUsersByOffset({})).totalCount, before + 1200);
  });

  it('applies migrations to an existing database and keeps its data', async () => {
    const path = await testDatabase();
    const old = isPostgresUrl(path) ? postgresKysely(path) : sqliteKysely(openSqliteDatabase(path));
    const { error } = await migrator(old, isPostgresUrl(path) ? await currentSchema(old) : undefined).migrateTo(
      '0001_users',
    );
    assert.equal(error, undefined);
    await sql`insert into users (id, name, name_key, email, email_key, role, tags, created_at, updated_at)
      values ('u1', 'Old Timer', 'old timer', 'old@example.com', 'old@example.com', 'USER_ROLE_ADMIN', '["legacy"]', 1000, 2000)`.execute(
      old,
    );
    // An email stored decomposed (NFD), keyed the old way (lower case only).
    const decomposed = 'Jose\u0301@example.com'.normalize('NFD');
    await sql`insert into users (id, name, name_key, email, email_key, role, tags, created_at, updated_at)
      values ('u2', 'José', 'josé', ${decomposed}, ${decomposed.toLowerCase()}, 'USER_ROLE_USER', '[]', 1000, 2000)`.execute(
      old,
    );
    await old.destroy();

    const { store } = await openStore(path);
    try {
      const user = await store.getUser('u1');
      assert.equal(user?.name, 'Old Timer');
      assert.deepEqual(user?.tags, ['legacy']);
      assert.equal(user?.revision, 0, 'no change logged yet');
      assert.equal(await store.changeLog.headRevision(), 0);
      const service = new UserService(store, noFeed);
      await rejectsWith(service.createUser(aUser({ email: 'OLD@example.com' })), ErrorCode.EMAIL_ALREADY_EXISTS);
      const composed = 'JOSÉ@example.com'.normalize('NFC');
      await rejectsWith(service.createUser(aUser({ email: composed })), ErrorCode.EMAIL_ALREADY_EXISTS);
      // Migrations 0005 to 0007 indexed the names (trigrams, grams) and counted the users that were there.
      for (const [key, id] of [
        ['é', 'u2'],
        ['d t', 'u1'],
        ['ol', 'u1'],
      ]) {
        assert.deepEqual(
          (await store.listUsers({ nameContains: key!, limit: 5 })).users.map((u) => u.id),
          [id],
          key,
        );
      }
      assert.deepEqual(
        (await store.listUsers({ nameContains: 'timer', limit: 5 })).users.map((u) => u.id),
        ['u1'],
      );
      assert.deepEqual(
        await store
          .listUsersByOffset({ nameContains: 'jos', limit: 5, offset: 0, countUpTo: 10 })
          .then((p) => [p.users.map((u) => u.id), p.totalCount]),
        [['u2'], 1],
      );
      assert.equal((await service.listUsersByOffset({})).totalCount, 2);
      const updated = await service.updateUser('u1', changing({ name: 'Still Here' }));
      assert.equal(updated.revision, 1);
      assert.equal(await store.changeLog.headRevision(), 1);
    } finally {
      await store.close();
    }
    // Opening again applies nothing and loses nothing.
    const { store: again } = await openStore(path);
    assert.equal((await again.getUser('u1'))?.name, 'Still Here');
    assert.deepEqual(
      (await again.listUsers({ nameContains: 'still', limit: 5 })).users.map((u) => u.id),
      ['u1'],
    );
    await again.close();
  });

  it('keeps both of two concurrent updates of different fields of one user (no lost update)', async () => {
    const { path, service } = await openStack();
    const other = await secondInstance(path);
    for (let round = 0; round < 20; round++) {
      const user = await service.createUser(aUser({ tags: ['start'] }));
      const [, remote] = await Promise.all([
        service.updateUser(user.id, changing({ name: `Renamed ${round}` })),
        other.call('updateUser', user.id, changing({ tags: [`round-${round}`] })),
      ]);
      assert.ok(remote.ok, remote.code);
      const after = await service.getUser(user.id);
      assert.deepEqual([after.name, after.tags], [`Renamed ${round}`, [`round-${round}`]], `round ${round}`);
    }
  });

  it('keeps the search and email indexes in step when an update sets only what changed', async () => {
    const { service } = await openStack();
    const user = await service.createUser(aUser({ name: 'Quillon Brask', tags: ['a'] }));
    const found = async (text: string) =>
      (await service.listUsers({ filter: text, pageSize: 10 })).users.map((u) => u.id);
    await service.updateUser(user.id, changing({ tags: ['b'], role: 'USER_ROLE_ADMIN' })); // neither name nor email
    assert.deepEqual(await found('quillon'), [user.id], 'the name is still found');
    const renamed = await service.updateUser(user.id, changing({ name: 'Varnet Oslo' }));
    assert.deepEqual([renamed.tags, renamed.role], [['b'], 'USER_ROLE_ADMIN'], 'the rest kept');
    assert.deepEqual(await found('quillon'), [], 'the old name is gone from the index');
    assert.deepEqual(await found('varnet'), [user.id]);
    const other = await service.createUser(aUser());
    await service.updateUser(user.id, changing({ email: 'moved.' + user.email }));
    const taken = await service.createUser(aUser({ email: user.email })); // the old email is free again
    assert.ok(taken.id);
    await rejectsWith(
      service.updateUser(other.id, changing({ email: 'MOVED.' + user.email })),
      ErrorCode.EMAIL_ALREADY_EXISTS,
    );
  });

  it('rolls back a write whose deadline passes while it runs, and begins none whose deadline has passed', async () => {
    const { service } = await openStack();
    const before = (await service.listUsersByOffset({})).totalCount;
    const big = Array.from({ length: 5000 }, () => aUser());
    await rejectsWith(service.createUsers(big, { deadline: Date.now() + 2 }), ErrorCode.DEADLINE_EXCEEDED);
    await rejectsWith(service.createUser(aUser(), { deadline: Date.now() - 1 }), ErrorCode.DEADLINE_EXCEEDED);
    assert.equal((await service.listUsersByOffset({})).totalCount, before, 'nothing was committed');
  });

  it('reads users by ids in one statement per chunk: the found ones, each once, on the driver and through Kysely', async () => {
    const { store, service } = await openStack();
    const few = await service.createUsers([aUser(), aUser()]);
    const many = await service.createUsers(Array.from({ length: USERS_PER_READ + 20 }, () => aUser()));
    // The store as it is, with its direct reads counted; and the same store without them (Kysely's path).
    const dialect = (store as unknown as { dialect: Required<Dialect> }).dialect;
    const statements: number[] = [];
    const counted = new SqlUserStore(store.db, {
      ...dialect,
      direct: {
        ...dialect.direct,
        usersByIds: (ids, left) => {
          statements.push(ids.length);
          return dialect.direct.usersByIds(ids, left);
        },
      },
    });
    const viaKysely = new SqlUserStore(store.db, { ...dialect, direct: undefined });
    const sorted = (users: { id: string }[]) => users.map((u) => u.id).sort();
    for (const reads of [counted, viaKysely]) {
      const [a, b] = few as [User, User];
      assert.deepEqual(sorted(await reads.getUsers([a.id, 'missing', b.id, a.id])), sorted([a, b]));
      assert.deepEqual(await reads.getUsers([a.id]), [await store.getUser(a.id)], 'the user as getUser reads it');
      assert.deepEqual(await reads.getUsers(['missing']), []);
      assert.deepEqual(await reads.getUsers([]), []);
      const asked = [...many.map((u) => u.id), 'missing', many[0]!.id];
      assert.deepEqual(sorted(await reads.getUsers(asked)), sorted(many));
      await rejectsWith(reads.getUsers([a.id], { deadline: Date.now() - 1 }), ErrorCode.DEADLINE_EXCEEDED);
    }
    // One statement each (none for the empty list, none past the deadline); distinct ids, chunked.
    assert.deepEqual(statements, [3, 1, 1, USERS_PER_READ, 21]);
  });

  it('gives every write its own revision, even two in one millisecond', async () => {
    const { service } = await openStack();
    const user = await service.createUser(aUser());
    const revisions = [user.revision];
    for (let i = 0; i < 5; i++)
      revisions.push((await service.updateUser(user.id, changing({ name: `n${i}` }))).revision);
    assert.deepEqual(
      revisions,
      revisions.map((_, i) => revisions[0]! + i),
    );
    assert.equal((await service.getUser(user.id)).revision, revisions.at(-1));
  });
});

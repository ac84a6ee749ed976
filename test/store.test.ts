import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { type DomainError, ErrorCode } from '../src/domain/errors.js';
import { PAGE_SIZE } from '../src/domain/pagination.js';
import { UserService } from '../src/domain/user-service.js';
import { migrator } from '../src/store/migrations.js';
import { openStore } from '../src/store/open.js';
import { currentSchema, isPostgresUrl, postgresKysely } from '../src/store/postgres.js';
import { openSqliteDatabase, sqliteKysely } from '../src/store/sqlite.js';
import { testDatabase } from './support/databases.js';
import { rejectsWith } from './support/failures.js';
import { aUser, changing, openStack } from './support/helpers.js';

const noFeed = {
  notify() {},
  watch: () => {
    throw new Error('unused');
  },
};

describe('store on SQLite', () => {
  it('lets exactly one of simultaneous creates with one email win, across connections', async () => {
    const { path, service } = await openStack();
    const worker = new Worker(new URL('./support/fixtures/ts-worker.mjs', import.meta.url), {
      workerData: { path, entry: new URL('./support/fixtures/create-user-worker.ts', import.meta.url).href },
    });
    const replies: { ok: boolean; code?: string; ready?: boolean }[] = [];
    const waiters: (() => void)[] = [];
    worker.on('message', (m: (typeof replies)[number]) => {
      replies.push(m);
      waiters.shift()?.();
    });
    const nextReply = async () => {
      if (replies.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return replies.shift()!;
    };
    try {
      assert.equal((await nextReply()).ready, true);
      for (let round = 0; round < 20; round++) {
        const email = `race${round}@example.com`;
        worker.postMessage(email.toUpperCase());
        const local = await Promise.allSettled([
          service.createUser(aUser({ email })),
          service.createUser(aUser({ email })),
        ]);
        const remote = await nextReply();
        const wins = local.filter((r) => r.status === 'fulfilled').length + (remote.ok ? 1 : 0);
        assert.equal(wins, 1, `round ${round}`);
        for (const r of local) {
          if (r.status === 'rejected') assert.equal((r.reason as DomainError).code, ErrorCode.EMAIL_ALREADY_EXISTS);
        }
        if (!remote.ok) assert.equal(remote.code, ErrorCode.EMAIL_ALREADY_EXISTS);
      }
    } finally {
      worker.postMessage(null);
      await once(worker, 'exit');
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

  it('treats LIKE wildcards in a filter literally', async () => {
    const { service } = await openStack();
    await service.createUser(aUser({ name: '100% real' }));
    await service.createUser(aUser({ name: '1000 fake' }));
    await service.createUser(aUser({ name: 'under_score' }));
    assert.deepEqual(
      (await service.listUsers({ filter: '0%' })).users.map((u) => u.name),
      ['100% real'],
    );
    assert.deepEqual(
      (await service.listUsers({ filter: '_' })).users.map((u) => u.name),
      ['under_score'],
    );
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
    await old.destroy();

    const { store } = await openStore(path);
    try {
      const user = await store.getUser('u1');
      assert.equal(user?.name, 'Old Timer');
      assert.deepEqual(user?.tags, ['legacy']);
      assert.equal(await store.changeLog.headRevision(), 0);
      const service = new UserService(store, noFeed);
      await rejectsWith(service.createUser(aUser({ email: 'OLD@example.com' })), ErrorCode.EMAIL_ALREADY_EXISTS);
      await service.updateUser('u1', changing({ name: 'Still Here' }));
      assert.equal(await store.changeLog.headRevision(), 1);
    } finally {
      await store.close();
    }
    // Opening again applies nothing and loses nothing.
    const { store: again } = await openStore(path);
    assert.equal((await again.getUser('u1'))?.name, 'Still Here');
    await again.close();
  });
});

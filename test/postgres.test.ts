import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, adminFetch } from './support/tokens.js';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import { loadConfig, redactedDb } from '../src/app/config.js';
import { newUser } from '../src/domain/user.js';
import type { UserEvent } from '../src/gen/users/v1/users.js';
import { Informer } from '../src/clients/informer.js';
import { grpcUsersApi } from '../src/clients/grpc.js';
import { restUsersApi } from '../src/clients/rest.js';
import { describeError, UserClient } from '../src/grpc/client.js';
import { RestClient, RestError } from '../src/rest/client.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { freshSchemaUrl, named, schemaOf } from './support/databases.js';
import { POSTGRES_URL, postgresUnreachable } from './support/engine.js';
import { grpcFailure, restFailure } from './support/failures.js';
import { aUser, consecutive, until } from './support/helpers.js';
import { openSse } from './support/sse.js';
import { startServeProcess } from './support/serve-process.js';
import { startStack } from './support/stack.js';

// Off CI, a machine without PostgreSQL skips these (saying why); in CI they must run.
const unreachable = await postgresUnreachable();
const skip =
  unreachable && !process.env.CI
    ? `${unreachable}; start PostgreSQL or set TWINAPI_TEST_POSTGRES_URL to enable`
    : false;

/**
 * `db`'s users table locked (access exclusive) by a connection of its own until `release()` (which
 * may be called again); `waiting(name)` counts the statements of that application waiting on a lock.
 */
async function lockUsers(db: string) {
  const locker = new pg.Client({ connectionString: POSTGRES_URL });
  await locker.connect();
  await locker.query('begin');
  await locker.query(`lock table ${schemaOf(db)}.users in access exclusive mode`);
  let released: Promise<void> | undefined;
  return {
    waiting: async (applicationName: string) =>
      Number(
        (
          await locker.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
            [applicationName],
          )
        ).rows[0]!.n,
      ),
    release: () => (released ??= locker.query('rollback').then(() => locker.end())),
  };
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL: many instances, one database', { skip }, () => {
  it('wakes the change feed of another instance through LISTEN/NOTIFY', async () => {
    const url = await freshSchemaUrl();
    const writer = await openPostgresStore(url);
    const reader = await openPostgresStore(url);
    const heard: (number | undefined)[] = [];
    const listener = reader.listenForCommits(
      (revision) => heard.push(revision),
      () => {},
    );
    try {
      await until(() => heard.length > 0, 'the listener to connect (it reports once connected)');
      await writer.store.insertUsers([newUser(aUser())], () => 'email');
      await until(() => heard.includes(1), 'the notification of revision 1');
    } finally {
      await listener.close();
      await writer.store.close();
      await reader.store.close();
    }
  });

  it(
    'delivers changes made through instance A to WatchUsers and SSE on instance B, in order, without gap or duplicate — also across a dropped LISTEN connection',
    { timeout: 60_000 },
    async () => {
      const db = await freshSchemaUrl();
      const bName = `twinapi-b-${process.pid}`;
      const [a, b] = await Promise.all([startServeProcess({ db }), startServeProcess({ db: named(db, bName) })]);
      const writerGrpc = new UserClient({ address: a.grpcAddress, defaultDeadlineMs: 10_000, token: ADMIN_TOKEN });
      const writerRest = new RestClient(a.restUrl, ADMIN_TOKEN);
      const watcher = new UserClient({ address: b.grpcAddress, defaultDeadlineMs: 60_000, token: ADMIN_TOKEN });
      const watch = watcher.watchUsers();
      const grpcEvents: UserEvent[] = [];
      watch.send({ afterRevision: 0 });
      void (async () => {
        for await (const event of watch.events) grpcEvents.push(event);
      })().catch(() => {});
      const sse = openSse(b.restUrl);
      try {
        const first = await writerGrpc.createUsers([aUser(), aUser(), aUser()]);
        await writerRest.createUser({ name: 'Via REST', email: `rest.${process.pid}@example.com` });
        await writerGrpc.updateUser({ user: { id: first.users[0]!.id, name: 'Renamed' }, updateMask: ['name'] });
        await writerRest.deleteUser(first.users[1]!.id);
        await until(() => grpcEvents.length >= 6 && sse.revisions.length >= 6, 'six events on instance B', 10_000);

        // A lost notification must not lose an event: cut B's LISTEN connection, then write through A.
        await sql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = '${bName}-listen'`);
        await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            writerRest.createUser({ name: `Unheard ${i}`, email: `unheard.${i}.${process.pid}@example.com` }),
          ),
        );
        await until(
          () => grpcEvents.length >= 11 && sse.revisions.length >= 11,
          'the events written while B was not listening',
          15_000,
        );

        assert.deepEqual(
          grpcEvents.map((e) => e.revision),
          consecutive(1, 11),
        );
        assert.deepEqual(sse.revisions, consecutive(1, 11));
        assert.equal(grpcEvents[4]?.user?.name, 'Renamed');
      } finally {
        watch.cancel();
        sse.close();
        writerGrpc.close();
        watcher.close();
      }
    },
  );

  it(
    'keeps an informer on one instance equal to the database while writers run on two instances sharing it (REST and gRPC)',
    { timeout: 90_000 },
    async () => {
      const db = await freshSchemaUrl();
      const [a, b] = await Promise.all([startServeProcess({ db }), startServeProcess({ db })]);
      const grpcA = new UserClient({ address: a.grpcAddress, defaultDeadlineMs: 10_000, token: ADMIN_TOKEN });
      const grpcB = new UserClient({ address: b.grpcAddress, defaultDeadlineMs: 10_000, token: ADMIN_TOKEN });
      try {
        const writerApis = [restUsersApi(new RestClient(a.restUrl, ADMIN_TOKEN)), grpcUsersApi(grpcB)];
        const seeded = await writerApis[0]!.createUsers(Array.from({ length: 10 }, () => aUser()));
        const writers = Promise.all(
          writerApis.map(async (api, w) => {
            for (let i = 0; i < 20; i++) {
              if (i % 4 === 3) await api.createUser(aUser());
              else await api.updateUser(seeded[(w * 3 + i) % seeded.length]!.id, { name: `Instance ${w} step ${i}` });
            }
          }),
          // The deletes once both writers are done: one writer updates the user the other deletes.
        ).then(() => Promise.all(writerApis.map((api, w) => api.deleteUser(seeded[w]!.id))));
        // Started while the writers run; each informer follows the other instance's writes through NOTIFY.
        const informers = await Promise.all([
          Informer.start(restUsersApi(new RestClient(b.restUrl, ADMIN_TOKEN))),
          Informer.start(grpcUsersApi(grpcA)),
        ]);
        try {
          await writers;
          const truth = await writerApis[0]!.listing();
          const expected = truth.users.map((u) => `${u.id} ${u.revision} ${u.name}`).sort();
          for (const informer of informers) {
            await informer.synced(truth.revision);
            assert.deepEqual(
              [...informer.users.values()].map((u) => `${u.id} ${u.revision} ${u.name}`).sort(),
              expected,
            );
          }
        } finally {
          await Promise.all(informers.map((i) => i.close()));
        }
      } finally {
        grpcA.close();
        grpcB.close();
      }
    },
  );

  it(
    'keeps emails unique across instances: of concurrent creates on two instances one wins, the other gets ALREADY_EXISTS / 409',
    { timeout: 60_000 },
    async () => {
      const db = await freshSchemaUrl();
      const [a, b] = await Promise.all([startServeProcess({ db }), startServeProcess({ db })]);
      const grpc = new UserClient({ address: a.grpcAddress, defaultDeadlineMs: 10_000, token: ADMIN_TOKEN });
      const rest = new RestClient(b.restUrl, ADMIN_TOKEN);
      try {
        for (let round = 0; round < 10; round++) {
          const email = `race.${round}.${process.pid}@example.com`;
          const [viaGrpc, viaRest] = await Promise.allSettled([
            grpc.createUser({ name: 'gRPC', email }),
            rest.createUser({ name: 'REST', email }),
          ]);
          const wins = [viaGrpc, viaRest].filter((r) => r.status === 'fulfilled');
          assert.equal(wins.length, 1, `round ${round}: exactly one create wins`);
          if (viaGrpc.status === 'rejected') assert.equal(describeError(viaGrpc.reason).code, status.ALREADY_EXISTS);
          if (viaRest.status === 'rejected') {
            assert.ok(viaRest.reason instanceof RestError);
            assert.equal(viaRest.reason.status, 409);
          }
        }
      } finally {
        grpc.close();
      }
    },
  );

  it(
    'bounds the database work by the deadline: a query stuck on a lock ends with DEADLINE_EXCEEDED (gRPC) / 504 (REST) and is cancelled in PostgreSQL',
    { timeout: 30_000 },
    async () => {
      const db = await freshSchemaUrl();
      const stack = await startStack({ db, 'rest-request-timeout-ms': '300' });
      const user = await stack.client.createUser(aUser());
      const lock = await lockUsers(db);
      try {
        const started = Date.now();
        const failure = await grpcFailure(stack.client.getUser({ id: user.id }, { deadlineMs: 400 }));
        assert.equal(failure.code, status.DEADLINE_EXCEEDED);
        assert.ok(Date.now() - started < 3000, 'the call did not hang');
        // The server's own statement must be gone too, not left waiting on the lock.
        const waiting = () => lock.waiting('twinapi');
        const deadline = Date.now() + 2000;
        while ((await waiting()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(await waiting(), 0, 'no twinapi statement still waits on the lock');
        // REST's deadline is its request timeout.
        const rest = await restFailure(stack.restClient.getUser(user.id));
        assert.equal(rest.status, 504);
        assert.equal(rest.body.error.code, 'DEADLINE_EXCEEDED');
      } finally {
        await lock.release();
      }
      // With the lock gone, the same call answers.
      assert.equal((await stack.client.getUser({ id: user.id }, { deadlineMs: 2000 })).id, user.id);
    },
  );

  it(
    'lets a call without a deadline wait as long as it must on a connection that an earlier call left with a short statement_timeout',
    { timeout: 30_000 },
    async () => {
      const name = `twinapi-no-deadline-${process.pid}`;
      const db = named(await freshSchemaUrl(), name);
      // One connection, so the gRPC call below runs where the REST call's statement_timeout was set.
      const stack = await startStack({ db, 'db-pool-size': '1', 'rest-request-timeout-ms': '300' });
      const user = await stack.client.createUser(aUser());
      await stack.restClient.getUser(user.id);
      const lock = await lockUsers(db);
      let settled = false;
      try {
        const started = Date.now();
        const call = stack.client.getUser({ id: user.id }, { deadlineMs: 0 });
        void call.finally(() => (settled = true)).catch(() => {});
        const waiting = () => lock.waiting(name);
        await until(async () => (await waiting()) === 1, 'the call to wait on the lock');
        // Well past the 300 ms the REST call had: still waiting, not cancelled by a leftover timeout.
        await until(() => settled || Date.now() - started > 1500, 'the REST deadline to be long past', 5000);
        assert.equal(settled, false, 'the call without a deadline was not stopped');
        assert.equal(await waiting(), 1);
        await lock.release();
        assert.equal((await call).id, user.id);
      } finally {
        await lock.release();
      }
    },
  );

  it(
    'survives a database restart: calls in flight end UNAVAILABLE / 503, lost connections are replaced, the process lives',
    { timeout: 30_000 },
    async () => {
      const name = `twinapi-restart-${process.pid}`;
      const db = named(await freshSchemaUrl(), name);
      const stack = await startStack({ db });
      const user = await stack.client.createUser(aUser());
      await Promise.all(Array.from({ length: 5 }, () => stack.restClient.getUser(user.id))); // a pool of several
      const lock = await lockUsers(db);
      try {
        const viaRest = restFailure(stack.restClient.getUser(user.id));
        const viaGrpc = grpcFailure(stack.client.getUser({ id: user.id }));
        await until(async () => (await lock.waiting(name)) === 2, 'both calls to wait on the lock');
        // The restart, as this instance sees it: every one of its connections is cut.
        await sql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = '${name}'`);
        const [rest, grpc] = await Promise.all([viaRest, viaGrpc]);
        assert.equal(rest.status, 503);
        assert.equal(rest.body.error.code, 'UNAVAILABLE');
        assert.equal(grpc.code, status.UNAVAILABLE);
        assert.equal(grpc.errorType, 'UNAVAILABLE');
      } finally {
        await lock.release();
      }
      // Recovery: calls succeed again on new connections; any that fail meanwhile fail UNAVAILABLE.
      await until(
        async () => {
          const call = stack.client.getUser({ id: user.id });
          const answered = await call.then(
            () => true,
            () => false,
          );
          if (!answered) assert.equal((await grpcFailure(call)).code, status.UNAVAILABLE);
          return answered;
        },
        'calls to succeed again',
        10_000,
      );
      assert.equal((await adminFetch(`${stack.baseUrl}/readyz`)).status, 200);
    },
  );
});

describe('database configuration', () => {
  it('takes DATABASE_URL when neither --db nor TWINAPI_DB is given, and hides passwords in logs', () => {
    assert.equal(loadConfig({}, { DATABASE_URL: 'postgres://u:secret@db/x' }).db, 'postgres://u:secret@db/x');
    assert.equal(loadConfig({}, { DATABASE_URL: 'postgres://db/x', TWINAPI_DB: 'other.db' }).db, 'other.db');
    assert.equal(loadConfig({ db: 'flag.db' }, { DATABASE_URL: 'postgres://db/x' }).db, 'flag.db');
    assert.equal(loadConfig({}, {}).dbPoolSize, 10);
    assert.throws(() => loadConfig({ 'db-pool-size': '0' }, {}), /--db-pool-size \(DB_POOL_SIZE\)/);
    assert.equal(redactedDb('postgres://u:secret@db/x'), 'postgres://u:***@db/x');
    assert.equal(redactedDb('./data/twinapi.db'), './data/twinapi.db');
  });

  it('fails to start with a clear error when PostgreSQL cannot be reached', { skip }, async () => {
    await assert.rejects(openPostgresStore('postgres://postgres@127.0.0.1:1/test'), /ECONNREFUSED/);
  });
});

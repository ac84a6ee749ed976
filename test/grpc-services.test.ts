import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Client, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { bufCurl, grpcTo } from './support/buf.js';
import { grpcFailure } from './support/failures.js';
import { ADMIN_TOKEN } from './support/tokens.js';
import { aUser, take, until } from './support/helpers.js';
import { startStack } from './support/stack.js';

type Callback<T> = (error: Error | null, value?: T) => void;
interface HealthClient extends Client {
  check(request: { service: string }, callback: Callback<{ status: string }>): void;
  watch(request: { service: string }): AsyncIterable<{ status: string }> & { cancel(): void };
}

function healthClient(address: string): HealthClient {
  const Constructor = makeGenericClientConstructor(healthService, 'Health');
  return new Constructor(address, credentials.createInsecure()) as unknown as HealthClient;
}

const check = (client: HealthClient, service: string) =>
  new Promise<string>((resolve, reject) => client.check({ service }, (e, r) => (e ? reject(e) : resolve(r!.status))));

describe('standard gRPC services', async () => {
  const { address, close, client, server, app } = await startStack();

  it('serves reflection v1 and v1alpha from the real descriptors: buf curl lists, describes and calls without the .proto', async () => {
    const [base, url] = [
      [...grpcTo(address).slice(0, -1), '-H', `authorization: Bearer ${ADMIN_TOKEN}`],
      grpcTo(address).at(-1)!,
    ];
    for (const version of ['grpc-v1', 'grpc-v1alpha']) {
      const listed = await bufCurl([...base, '--reflect-protocol', version, '--list-services', url]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(listed.stdout.trim().split('\n').sort(), [
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
        'users.v1.UserService',
      ]);
    }
    const methods = await bufCurl([...base, '--list-methods', url]);
    assert.match(methods.stdout, /^users\.v1\.UserService\/WatchUsers$/m);

    const created = await bufCurl([
      ...base,
      '-d',
      '{"name":"Via Reflection","email":"reflection@example.com","role":"USER_ROLE_ADMIN"}',
      `${url}/users.v1.UserService/CreateUser`,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const user = JSON.parse(created.stdout) as { id: string; role: string; createdAt: string };
    assert.equal(user.role, 'USER_ROLE_ADMIN');
    assert.ok(user.createdAt, "a google.protobuf.Timestamp, resolved through the file's imports");
    assert.equal((await client.getUser({ id: user.id })).name, 'Via Reflection');

    const missing = await bufCurl([...base, '-d', '{"id":"nobody"}', `${url}/users.v1.UserService/GetUser`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not_found/);
    const health = await bufCurl([...base, '-d', '{}', `${url}/grpc.health.v1.Health/Check`]);
    assert.deepEqual(JSON.parse(health.stdout), { status: 'SERVING' });
  });

  it('serves no reflection with --grpc-reflection false', async () => {
    const off = await startStack({ 'grpc-reflection': 'false' });
    const [base, url] = [grpcTo(off.address).slice(0, -1), grpcTo(off.address).at(-1)!];
    const listed = await bufCurl([...base, '--list-services', url]);
    assert.notEqual(listed.code, 0);
    assert.match(listed.stderr, /unimplemented/i);
  });

  it('answers health checks overall and per service, and NOT_SERVING during shutdown', async () => {
    const health = healthClient(address);
    assert.equal(await check(health, ''), 'SERVING');
    assert.equal(await check(health, 'users.v1.UserService'), 'SERVING');
    assert.equal((await grpcFailure(check(health, 'no.Such'))).code, status.NOT_FOUND);

    const watch = health.watch({ service: 'users.v1.UserService' });
    const updates = watch[Symbol.asyncIterator]();
    assert.equal(((await updates.next()).value as { status: string }).status, 'SERVING');
    // Shutdown with a client stream still open: it must finish, and watches end UNAVAILABLE.
    const userWatch = client.watchUsers();
    userWatch.send({});
    const userWatchEnd = grpcFailure(take(userWatch.events, 1));
    const batch = new Promise<unknown>((resolve) => {
      let more = 100;
      // A client that streams slowly: the batch is still arriving when shutdown begins.
      async function* slowly() {
        while (more-- > 0) {
          yield aUser();
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      client.createUsers(slowly()).then(resolve, resolve);
    });
    // Shut down while both are in progress on the server.
    await until(
      () => server.openStreams === 2 && app.service.openWatches === 1,
      'the watch and the batch to be in flight',
    );
    const closing = close();
    assert.equal(((await updates.next()).value as { status: string }).status, 'NOT_SERVING');
    watch.cancel();
    health.close();
    assert.deepEqual(((await batch) as { createdCount?: number }).createdCount, 100, 'the in-flight call finished');
    assert.equal((await userWatchEnd).code, status.UNAVAILABLE);
    await closing;
  });
});

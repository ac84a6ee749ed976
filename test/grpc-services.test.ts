import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type Client,
  type ClientDuplexStream,
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  type ServiceClientConstructor,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { grpcFailure } from './support/failures.js';
import { aUser, take, until } from './support/helpers.js';
import { startStack } from './support/stack.js';

type Callback<T> = (error: Error | null, value?: T) => void;
interface HealthClient extends Client {
  check(request: { service: string }, callback: Callback<{ status: string }>): void;
  watch(request: { service: string }): AsyncIterable<{ status: string }> & { cancel(): void };
}

const require = createRequire(import.meta.url);
const reflectionProtos = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');

function healthClient(address: string): HealthClient {
  const Constructor = makeGenericClientConstructor(healthService, 'Health');
  return new Constructor(address, credentials.createInsecure()) as unknown as HealthClient;
}

const check = (client: HealthClient, service: string) =>
  new Promise<string>((resolve, reject) => client.check({ service }, (e, r) => (e ? reject(e) : resolve(r!.status))));

interface ReflectionAnswer {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
}

/** Asks a reflection service (v1 or v1alpha) for the services it knows and one file. */
async function reflect(address: string, version: 'v1' | 'v1alpha') {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, {
    includeDirs: [reflectionProtos],
    keepCase: true,
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<typeof version, { ServerReflection: ServiceClientConstructor }> };
  };
  const client = new pkg.grpc.reflection[version].ServerReflection(
    address,
    credentials.createInsecure(),
  ) as unknown as Client & {
    ServerReflectionInfo(): ClientDuplexStream<object, ReflectionAnswer>;
  };
  const call = client.ServerReflectionInfo();
  call.write({ list_services: '' });
  call.write({ file_containing_symbol: 'users.v1.UserService' });
  call.end();
  const answers: ReflectionAnswer[] = [];
  for await (const answer of call) answers.push(answer as ReflectionAnswer);
  client.close();
  return answers;
}

describe('standard gRPC services', async () => {
  const { address, close, client, server, app } = await startStack();

  it('serves reflection v1 and v1alpha, so tools work without the .proto', async () => {
    for (const version of ['v1', 'v1alpha'] as const) {
      const [list, file] = await reflect(address, version);
      const names = list?.list_services_response?.service.map((s) => s.name) ?? [];
      assert.ok(names.includes('users.v1.UserService'), `${version}: ${names.join(', ')}`);
      assert.ok((file?.file_descriptor_response?.file_descriptor_proto.length ?? 0) > 0);
    }
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

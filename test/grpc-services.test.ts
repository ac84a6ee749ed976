import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { credentials, loadPackageDefinition, makeGenericClientConstructor, status, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { describeError } from '../src/grpc/client.js';
import { aUser, take } from './helpers.js';
import { startStack } from './stack.js';

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

/** Asks a reflection service (v1 or v1alpha) for the services it knows and one file. */
async function reflect(address: string, version: 'v1' | 'v1alpha') {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, {
    includeDirs: [reflectionProtos],
    keepCase: true,
  });
  const pkg = loadPackageDefinition(definition) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const Reflection = pkg.grpc.reflection[version].ServerReflection;
  const client = new Reflection(address, credentials.createInsecure());
  const call = client.ServerReflectionInfo();
  call.write({ list_services: '' });
  call.write({ file_containing_symbol: 'users.v1.UserService' });
  call.end();
  const answers: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  for await (const answer of call) answers.push(answer);
  client.close();
  return answers;
}

describe('standard gRPC services', async () => {
  const { address, close, client } = await startStack();

  it('serves reflection v1 and v1alpha, so tools work without the .proto', async () => {
    for (const version of ['v1', 'v1alpha'] as const) {
      const [list, file] = await reflect(address, version);
      const names = list.list_services_response.service.map((s: { name: string }) => s.name);
      assert.ok(names.includes('users.v1.UserService'), `${version}: ${names}`);
      assert.ok(file.file_descriptor_response.file_descriptor_proto.length > 0);
    }
  });

  it('answers health checks overall and per service, and NOT_SERVING during shutdown', async () => {
    const health = healthClient(address);
    assert.equal(await check(health, ''), 'SERVING');
    assert.equal(await check(health, 'users.v1.UserService'), 'SERVING');
    assert.equal(describeError(await check(health, 'no.Such').catch((e: unknown) => e)).code, status.NOT_FOUND);

    const watch = health.watch({ service: 'users.v1.UserService' });
    const updates = take(watch, 2);
    await new Promise((r) => setTimeout(r, 50));
    // Shutdown with a client stream still open: it must finish, and watches end UNAVAILABLE.
    const userWatch = client.watchUsers();
    userWatch.send({});
    const userWatchEnd = take(userWatch.events, 1).catch((e: unknown) => e);
    const batch = new Promise<unknown>((resolve) => {
      let more = 100;
      async function* slowly() {
        while (more-- > 0) {
          yield aUser();
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      client.createUsers(slowly()).then(resolve, resolve);
    });
    await new Promise((r) => setTimeout(r, 50));
    const closing = close();
    assert.deepEqual(
      (await updates).map((u) => u.status),
      ['SERVING', 'NOT_SERVING'],
    );
    watch.cancel();
    health.close();
    assert.deepEqual(((await batch) as { createdCount?: number }).createdCount, 100, 'the in-flight call finished');
    assert.equal(describeError(await userWatchEnd).code, status.UNAVAILABLE);
    await closing;
  });
});

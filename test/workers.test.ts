import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, adminFetch } from './support/tokens.js';
import { childrenOf } from '../src/bench/load/cpu.js';
import { UserClient } from '../src/grpc/client.js';
import { RestClient } from '../src/rest/client.js';
import { aUser, consecutive, tempDir, until } from './support/helpers.js';
import { openSse } from './support/sse.js';
import { spawnServe, startServeProcess, type SpawnedServe } from './support/serve-process.js';
import { freePort } from '../src/app/free-port.js';
import { parseScrape, promtoolCheckMetrics, valueOf } from './support/metrics.js';
import http from 'node:http';

/** The worker pids whose parent is `pid` (tsx runs an esbuild child too). */
function workersOf(pid: number): number[] {
  return childrenOf(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('serve');
    } catch {
      return false; // exited since
    }
  });
}

const servingLines = (server: SpawnedServe) => server.logs.filter((l) => l.msg === 'twinapi is serving').length;

describe('--workers N', () => {
  it(
    'serves both protocols from N processes on the same ports, replaces a dead worker, and stops them all on SIGTERM',
    { timeout: 60_000 },
    async () => {
      const server = await startServeProcess({ db: join(tempDir(), 'workers.db'), workers: '2' }, 2);
      const grpc = new UserClient({ address: server.grpcAddress, defaultDeadlineMs: 5000, token: ADMIN_TOKEN });
      const rest = new RestClient(server.restUrl, ADMIN_TOKEN);
      try {
        const workers = workersOf(server.process.pid!);
        assert.equal(workers.length, 2);
        const created = await grpc.createUser(aUser());
        assert.equal((await rest.getUser(created.id)).email, created.email);

        process.kill(workers[0]!, 'SIGKILL');
        await until(
          () => server.logs.some((l) => l.msg === 'worker died: starting a new one'),
          'the primary to notice',
          5000,
        );
        await until(() => servingLines(server) === 3, 'a replacement worker serving', 15_000);
        assert.equal(workersOf(server.process.pid!).length, 2);
        for (let i = 0; i < 10; i++)
          assert.equal((await adminFetch(`${server.restUrl}/users/${created.id}`)).status, 200);
        assert.equal((await grpc.getUser({ id: created.id })).id, created.id);
      } finally {
        grpc.close();
      }
      assert.equal(await server.stop(), 0);
      assert.ok(server.logs.filter((l) => l.msg === 'stopped cleanly').length >= 2, 'every worker drained and closed');
    },
  );

  it('stops with exit code 0 even while a replacement worker is still starting', { timeout: 30_000 }, async () => {
    const server = await startServeProcess({ db: join(tempDir(), 'starting.db'), workers: '2' }, 2);
    const [killed] = workersOf(server.process.pid!);
    process.kill(killed!, 'SIGKILL');
    // The killed worker stays listed until the primary reaps it: wait for the primary, not the list.
    await until(
      () => server.logs.some((l) => l.msg === 'worker died: starting a new one'),
      'the primary to notice',
      5000,
    );
    await until(() => workersOf(server.process.pid!).length === 2, 'a replacement worker', 10_000);
    assert.ok(!workersOf(server.process.pid!).includes(killed!));
    assert.equal(servingLines(server), 2, 'the replacement is still starting');
    assert.equal(await server.stop(), 0);
    assert.deepEqual(workersOf(server.process.pid!), []);
  });

  it('gives up with exit code 1 when workers keep dying', { timeout: 60_000 }, async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const server = spawnServe({ db: join(tempDir(), 'dying.db'), workers: '2', 'rest-port': port });
      assert.equal(await server.exited, 1);
      assert.ok(server.logs.some((l) => l.msg === 'worker died: starting a new one'));
      assert.ok(server.logs.some((l) => String(l.msg).startsWith('workers keep dying')));
    } finally {
      taken.close();
    }
  });

  it(
    'tells every worker of every commit at once: SSE subscribers on all workers see each change, in order (SQLite has no NOTIFY; the primary relays)',
    { timeout: 60_000 },
    async () => {
      // The feed's poll is an hour away, so only the relay can deliver in time.
      const server = await startServeProcess(
        { db: join(tempDir(), 'relay.db'), workers: '2', 'feed-poll-ms': '3600000' },
        2,
      );
      const rest = new RestClient(server.restUrl, ADMIN_TOKEN);
      const aRestUser = () => {
        const { name, email } = aUser();
        return { name, email };
      };
      await rest.createUser(aRestUser());
      // Round-robin hands these connections to both workers in turn.
      const subscribers = Array.from({ length: 4 }, () => openSse(server.restUrl, '/users/events?after_revision=0'));
      try {
        await until(
          () => subscribers.every((s) => s.revisions.length === 1),
          'every subscriber to catch up from the log',
          10_000,
        );
        for (let i = 0; i < 6; i++) await rest.createUser(aRestUser());
        await until(
          () => subscribers.every((s) => s.revisions.length === 7),
          'every subscriber to hear of every commit',
          10_000,
        );
        for (const subscriber of subscribers) assert.deepEqual(subscriber.revisions, consecutive(1, 7));
      } finally {
        for (const subscriber of subscribers) subscriber.close();
      }
    },
  );
});

describe('--workers N with metrics', () => {
  it(
    'answers one scrape with the sum over all workers: the counts add up to the calls made',
    { timeout: 60_000 },
    async () => {
      const metricsPort = await freePort();
      const server = await startServeProcess(
        { db: join(tempDir(), 'metrics.db'), workers: '2', 'metrics-port': String(metricsPort) },
        2,
      );
      const calls = 40;
      // A new connection per request, so the cluster hands them to both workers.
      const statuses = await Promise.all(
        Array.from(
          { length: calls },
          () =>
            new Promise<number>((resolve, reject) =>
              http
                .get(`${server.restUrl}/healthz`, { agent: false }, (response) => {
                  response.resume();
                  resolve(response.statusCode!);
                })
                .on('error', reject),
            ),
        ),
      );
      assert.deepEqual(new Set(statuses), new Set([200]));
      const servedBy = new Set(server.logs.filter((l) => l.log === 'access').map((l) => l.pid));
      assert.equal(servedBy.size, 2, 'both workers served some');
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const samples = parseScrape(text);
      const labels = { http_request_method: 'GET', http_route: '/healthz', http_response_status_code: '200' };
      assert.equal(valueOf(samples, 'http_server_request_duration_seconds_count', labels), calls);
      assert.equal(valueOf(samples, 'http_server_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), calls);
      // Per label set, not merged: the GC histogram keeps its kinds.
      assert.ok(samples.some((s) => s.name === 'nodejs_gc_duration_seconds_count' && s.labels.kind));
      const verdict = promtoolCheckMetrics(text);
      assert.equal(verdict.status, 0, verdict.output);
      assert.equal(await server.stop(), 0);
    },
  );
});

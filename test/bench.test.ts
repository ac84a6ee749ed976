import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { GetUserRequest } from '../src/gen/users/v1/users.js';
import { GRPC_DEFAULTS, GRPC_ENGINES } from '../src/grpc/server.js';
import { oursSettings, prepareData } from '../src/bench/fixtures.js';
import { h2loadVersion, runLoad } from '../src/bench/load/drivers.js';
import { probe } from '../src/bench/load/node-driver.js';
import { GRPC_REQUEST_HEADERS, grpcFrame, type LoadSpec } from '../src/bench/load/spec.js';
import { benchOptions } from '../src/bench/options.js';
import { planPinning } from '../src/bench/pinning.js';
import type { BenchResults } from '../src/bench/results.js';
import { runBench } from '../src/bench/run.js';
import { workerCounts } from '../src/bench/scenarios/scaling.js';
import { SERVER_PLANS } from '../src/bench/scenarios/unary.js';
import { launchServer } from '../src/bench/servers/launch.js';
import { tempDir } from './support/helpers.js';

/** Progress output goes nowhere: the test reads the report instead. */
const quiet = new Writable({ write: (_chunk, _enc, done) => done() }) as unknown as NodeJS.WriteStream;

const readResults = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults;

describe('twinapi bench', () => {
  it(
    '--quick runs every scenario and writes results.json, report.md and report.html',
    // About 170 s alone on 2 cores (every target, both gRPC engines, ~40 server processes); CI runs
    // other suites beside it.
    { timeout: 360_000 },
    async () => {
      const out = join(tempDir(), 'report');
      await runBench(benchOptions({ out }, true), quiet);
      const results = readResults(out);
      const allTargets = SERVER_PLANS.flatMap((plan) => plan.targets.map((t) => t.id));
      assert.deepEqual(results.unary!.failures, []);
      assert.deepEqual(new Set(results.unary!.measurements.map((m) => m.target.id)), new Set(allTargets));
      for (const m of results.unary!.measurements) {
        assert.ok(m.rps.median > 0, `${m.target.id} served nothing`);
        assert.equal(m.failed, 0, `${m.target.id} had failed calls`);
        assert.ok(m.latencyMs.p50 > 0 && m.latencyMs.p50 <= m.latencyMs.p99 && m.latencyMs.p99 <= m.latencyMs.max);
      }
      assert.deepEqual(results.cost!.failures, []);
      assert.deepEqual(results.cost!.comparisons.map((c) => `${c.setting} ${c.target.id}`).sort(), [
        'access log ours-grpc-get',
        'access log ours-rest-h1-get',
        'all three ours-grpc-get',
        'all three ours-rest-h1-get',
        'auth ours-grpc-get',
        'auth ours-rest-h1-get',
        'metrics ours-grpc-get',
        'metrics ours-rest-h1-get',
      ]);
      for (const c of results.cost!.comparisons)
        assert.ok(c.ratio.median > 0 && c.failed === 0, `${c.setting} ${c.target.id}`);
      const scaling = results.scaling!.measurements;
      assert.deepEqual(results.scaling!.failures, []);
      assert.deepEqual([...new Set(scaling.map((m) => m.workers))], workerCounts(results.machine.cores, true));
      for (const m of scaling)
        assert.ok(
          m.rps.median > 0 && m.failed === 0,
          `${m.workers} worker(s), ${m.target.id}: ${m.rps.median} req/s, ${m.failed} failed`,
        );
      assert.equal(results.serialization!.length, 24, 'six codecs × one and many × encode and decode');
      assert.deepEqual(new Set(results.payload!.map((p) => p.codec)), new Set(['json', 'protobuf', 'msgpackr']));
      for (const fanOut of results.streaming!.fanOut) assert.equal(fanOut.missing, 0, `${fanOut.label} lost events`);
      for (const list of results.streaming!.listAll) assert.equal(list.users, results.options.users);
      // Each gRPC engine streams, beside one REST and one SSE measurement.
      for (const streams of [results.streaming!.listAll, results.streaming!.fanOut]) {
        assert.deepEqual(
          streams.map((m) => `${m.protocol} ${m.engine}`).sort(),
          [
            ...GRPC_ENGINES.map((e) => `${streams === results.streaming!.listAll ? 'grpc-stream' : 'grpc-watch'} ${e}`),
            ...(streams === results.streaming!.listAll
              ? [`rest-pages ${GRPC_DEFAULTS.engine}`]
              : ['sse', 'graphql-sse', 'trpc-sse'].map((p) => `${p} ${GRPC_DEFAULTS.engine}`)),
          ].sort(),
        );
      }
      // The targets are in results.json as in the report, each measured in this run.
      assert.ok(results.targets!.length >= 19, `${results.targets!.length} targets`);
      for (const t of results.targets!) assert.notEqual(t.met, undefined, `${t.target}: ${t.detail}`);
      assert.equal(results.loadGenerator.driver, h2loadVersion() ? 'h2load' : 'node');
      assert.equal(results.scale, undefined, 'scale runs only when named');

      const markdown = readFileSync(join(out, 'report.md'), 'utf8');
      for (const heading of [
        '## Targets',
        '## Scaling',
        '## What auth, metrics and the access log cost GetUser',
        '## Ways to call the same service',
        '## Claims of the original design vs measured here',
        '## Decision guide',
      ])
        assert.match(markdown, new RegExp(heading));
      assert.match(markdown, /protobuf serializes 5–10× faster than JSON/);
      // The seed's claims on GraphQL and tRPC, each judged by this run's numbers.
      for (const claim of [/GraphQL ends over-fetching/, /tRPC gives end-to-end type safety/])
        assert.match(markdown, new RegExp(`${claim.source}[^\\n]*\\| (holds|partly|does not hold) \\|`));
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      assert.ok((html.match(/<svg/g) ?? []).length >= 4, 'charts for serialization, sizes, throughput and latency');
    },
  );

  it('uses the built-in Node driver when asked, and says so', { timeout: 60_000 }, async () => {
    const out = join(tempDir(), 'report');
    await runBench(
      benchOptions(
        {
          out,
          scenario: 'unary',
          target: 'bare-http-get,ours-grpc-get',
          driver: 'node',
          duration: '0.5',
          warmup: '0.2',
          users: '200',
        },
        true,
      ),
      quiet,
    );
    const results = readResults(out);
    assert.equal(results.loadGenerator.driver, 'node');
    assert.match(results.loadGenerator.note, /built-in Node driver/);
    assert.deepEqual(results.unary!.measurements.map((m) => m.target.id).sort(), ['bare-http-get', 'ours-grpc-get']);
    for (const m of results.unary!.measurements) assert.ok(m.rps.median > 0 && m.failed === 0);
  });

  it('falls back to the Node driver when h2load is not on the PATH', { timeout: 60_000 }, async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.equal(h2loadVersion(), undefined);
      await assert.rejects(
        runBench(benchOptions({ driver: 'h2load', out: join(tempDir(), 'r') }, true), quiet),
        /h2load is not installed/,
      );
      const out = join(tempDir(), 'report');
      await runBench(
        benchOptions(
          { out, scenario: 'unary', target: 'bare-http-get', duration: '0.3', warmup: '0.1', users: '200' },
          true,
        ),
        quiet,
      );
      const results = readResults(out);
      assert.equal(results.loadGenerator.driver, 'node');
      assert.match(results.loadGenerator.note, /h2load is not installed/);
      assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /h2load is not installed/);
    } finally {
      process.env.PATH = path;
    }
  });

  it(
    'counts a gRPC or gRPC-Web call that answered HTTP 200 with an error status as failed, with either driver',
    { timeout: 90_000 },
    async () => {
      const data = await prepareData(join(tempDir(), 'bench.db'), 200);
      const pinning = planPinning();
      const server = await launchServer('ours', oursSettings(data), pinning.serverCores);
      try {
        const ways = [
          { protocol: 'grpc', port: server.ports.grpc, headers: GRPC_REQUEST_HEADERS },
          { protocol: 'grpc-web', port: server.ports.http, headers: { 'content-type': 'application/grpc-web+proto' } },
        ] as const;
        for (const { protocol, port, headers } of ways) {
          const call = (id: string): LoadSpec => ({
            protocol,
            url: `http://127.0.0.1:${port}/users.v1.UserService/GetUser`,
            body: grpcFrame(GetUserRequest.encode({ id }).finish()),
            headers: { ...headers, authorization: `Bearer ${data.token}` },
            connections: 2,
            streams: 1,
            durationS: 0.4,
            warmupS: 0.1,
          });
          const ok = await probe(call(data.sampleUser.id));
          assert.equal(ok.grpcStatus, 0, protocol);
          const missing = call('01a210e4-52c8-70af-970b-000000000000');
          const notFound = await probe(missing);
          assert.equal(notFound.status, 200, `${protocol} errors travel in an HTTP 200`);
          assert.equal(notFound.grpcStatus, 5, protocol);
          for (const driver of h2loadVersion() ? (['h2load', 'node'] as const) : (['node'] as const)) {
            const context = { driver, pinning, serverPid: server.pid, okReplyBytes: ok.dataBytes };
            const result = await runLoad(missing, context);
            assert.ok(result.requests > 0, `${driver} sent ${protocol} calls`);
            assert.equal(result.succeeded, 0, `${driver} counted ${protocol} NOT_FOUND as success`);
            assert.equal(result.failed, result.requests);
            const good = await runLoad(call(data.sampleUser.id), context);
            assert.equal(good.failed, 0, `${driver} counted OK ${protocol} calls as failed`);
          }
        }
      } finally {
        await server.stop();
      }
    },
  );

  it('runs 1, 2, 4, … workers, then every core but one, then every core', () => {
    assert.deepEqual(workerCounts(1), [1]);
    assert.deepEqual(workerCounts(2), [1, 2]);
    assert.deepEqual(workerCounts(4), [1, 2, 3, 4]);
    assert.deepEqual(workerCounts(16), [1, 2, 4, 8, 15, 16]);
    assert.deepEqual(workerCounts(16, true), [1, 16]);
    assert.deepEqual(workerCounts(1, true), [1]);
  });

  it('rejects bad options with a message naming the flag', () => {
    assert.throws(
      () => benchOptions({ concurrency: '16,0' }, false),
      /--concurrency must be a whole number of at least 1/,
    );
    assert.throws(() => benchOptions({ scenario: 'unary,telepathy' }, false), /--scenario: unknown telepathy/);
    assert.throws(() => benchOptions({ driver: 'wrk' }, false), /--driver must be auto, h2load or node/);
    assert.throws(() => benchOptions({ duration: '-1' }, false), /--duration must be a number of seconds/);
    assert.throws(() => benchOptions({ users: '50' }, false), /--users must be a whole number of at least 200/);
  });
});

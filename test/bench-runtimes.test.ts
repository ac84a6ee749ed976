// The lab's runtimes scenario: our server run by another Node.js — Node 24, npm's build, installed
// by scripts/with-node as CI's own run gets it, with better-sqlite3 compiled for it once — beside
// the lab's own, measured in one run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { benchOptions, DEFAULT_SCENARIOS } from '../src/bench/options.js';
import type { BenchResults } from '../src/bench/results.js';
import { runBench } from '../src/bench/run.js';
import { RUNTIME_TARGETS } from '../src/bench/scenarios/runtimes.js';
import { tempDir } from './support/helpers.js';

const quiet = new Writable({ write: (_chunk, _enc, done) => done() }) as unknown as NodeJS.WriteStream;

describe('twinapi bench --scenario runtimes', () => {
  it('runs only when named, and then only with the runtimes --node names', () => {
    assert.ok(!DEFAULT_SCENARIOS.includes('runtimes'));
    assert.throws(() => benchOptions({ scenario: 'runtimes' }, true), /--node/);
    assert.deepEqual(benchOptions({ scenario: 'runtimes', node: '24, /opt/node/bin/node' }, true).node, [
      '24',
      '/opt/node/bin/node',
    ]);
  });

  it(
    'measures GetUser, the 100-user list and the fan-out on this Node and on Node 24, every call answered, none missed',
    // Node 24 and its SQLite addon are installed and compiled once (about 80 s on 2 cores), then kept.
    { timeout: 420_000 },
    async () => {
      const out = join(tempDir(), 'runtimes');
      await runBench(benchOptions({ scenario: 'runtimes', node: '24', out }, true), quiet);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
      const r = results.runtimes!;
      assert.equal(r.runtimes[0]!.version, process.version, "the lab's own Node first");
      // Run by Node 24 itself (CI's second run), the lab measures it once.
      assert.deepEqual(
        r.runtimes.map((rt) => rt.version.split('.')[0]),
        process.version.startsWith('v24.') ? ['v24'] : [process.version.split('.')[0], 'v24'],
      );
      assert.deepEqual(r.failures, []);
      for (const { version } of r.runtimes) {
        for (const target of RUNTIME_TARGETS) {
          const m = r.measurements.find((x) => x.runtime === version && x.target.id === target.id);
          assert.ok(m && m.rps.median > 0, `${target.id} on ${version} served nothing`);
          assert.equal(m.failed, 0, `${target.id} on ${version} had failed calls`);
        }
        const fanOut = r.fanOut.filter((m) => m.runtime === version);
        assert.deepEqual(fanOut.map((m) => m.protocol).sort(), ['graphql-sse', 'grpc-watch', 'sse', 'trpc-sse']);
        for (const m of fanOut) assert.equal(m.missing, 0, `${m.label} lost events`);
      }
      const report = readFileSync(join(out, 'report.md'), 'utf8');
      assert.match(report, /--scenario runtimes .*--node 24/);
      if (r.runtimes.length === 2) {
        assert.match(report, /## Node\.js runtimes/);
        assert.match(report, /\| GetUser, REST \(HTTP\/1\.1\) \| [\d,]+ req\/s \| [\d,]+ req\/s \| [\d.]+× /);
      }
    },
  );
});

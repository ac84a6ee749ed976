import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { BENCH_USAGE } from '../src/bench/command.js';
import { histogramBetween, parseScrape, valueOf } from '../src/bench/load/scrape.js';
import { BENCH_FLAGS, benchOptions, DEFAULT_SCENARIOS } from '../src/bench/options.js';
import { linePlot, logTicks } from '../src/bench/report/plot.js';
import { SCALE_TARGETS, scaleTargets } from '../src/bench/report/scale.js';
import type { BenchResults } from '../src/bench/results.js';
import { runBench } from '../src/bench/run.js';
import { deepestPage, SCALE_CALLS, type ScaleLatency } from '../src/bench/scenarios/scale-calls.js';
import type { ScalePoint } from '../src/bench/scenarios/scale.js';
import { LIMITS } from '../src/domain/user.js';
import { POSTGRES_URL, postgresUnreachable } from './support/engine.js';
import { tempDir } from './support/helpers.js';
import { markdownTable } from './support/readme.js';

const quiet = new Writable({ write: (_chunk, _enc, done) => done() }) as unknown as NodeJS.WriteStream;

// Off CI, a machine without PostgreSQL runs the scale smoke test on SQLite alone (saying so); in CI both must run.
const unreachable = await postgresUnreachable();
const withPostgres = !unreachable || Boolean(process.env.CI);

const positive = (n: number | undefined, what: string) =>
  assert.ok(n !== undefined && Number.isFinite(n) && n > 0, `${what}: ${n}`);

describe('twinapi bench --scenario scale', () => {
  it('runs only when named, with sizes and engines from --sizes and --db', () => {
    assert.ok(!DEFAULT_SCENARIOS.includes('scale'));
    assert.ok(!benchOptions({}, false).scenarios.includes('scale'), 'the default run does not seed a million users');
    assert.ok(!benchOptions({}, true).scenarios.includes('scale'));
    assert.deepEqual(benchOptions({ scenario: 'scale' }, false).scenarios, ['scale']);
    assert.deepEqual(benchOptions({}, false).sizes, [10_000, 100_000, 1_000_000]);
    assert.deepEqual(benchOptions({}, false).databases, ['sqlite']);
    const chosen = benchOptions({ sizes: '600, 300,600', db: `sqlite,${POSTGRES_URL}` }, true);
    assert.deepEqual(chosen.sizes, [300, 600], 'ascending, each once');
    assert.deepEqual(chosen.databases, ['sqlite', POSTGRES_URL]);
  });

  it('rejects bad --sizes and --db with a message naming the flag', () => {
    for (const sizes of ['100', '1000,abc', '2.5e3', '6000000', '1000,-1', ''])
      assert.throws(() => benchOptions({ sizes }, false), /--sizes must/, sizes);
    for (const db of ['mysql://x', 'sqlite,./file.db', '', 'postgres://'])
      assert.throws(() => benchOptions({ db }, false), /--db must/, db);
  });

  it('lists every bench flag in the README and in --help', () => {
    const documented = markdownTable('Lab flags', 'flag').map((row) => row.flag!.replace(/`/g, ''));
    assert.deepEqual([...documented].sort(), BENCH_FLAGS.map((flag) => `--${flag}`).sort());
    for (const flag of BENCH_FLAGS) assert.match(BENCH_USAGE, new RegExp(`--${flag} `), `--help names --${flag}`);
  });

  it(
    `grows tables, times each call, loads GetUser beside the filter loop and reports it${withPostgres ? '' : ` (SQLite only: ${unreachable})`}`,
    { timeout: 150_000 },
    async () => {
      const out = join(tempDir(), 'report');
      const db = withPostgres ? `sqlite,${POSTGRES_URL}` : 'sqlite';
      await runBench(
        benchOptions({ out, scenario: 'scale', sizes: '300,600', db, duration: '0.5', warmup: '0.2' }, true),
        quiet,
      );
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
      const scale = results.scale!;
      assert.deepEqual(
        scale.engines.map((e) => e.engine),
        withPostgres ? ['sqlite', 'postgresql'] : ['sqlite'],
      );
      for (const engine of scale.engines) {
        assert.equal(engine.error, undefined, `${engine.engine} stopped: ${engine.error}`);
        assert.deepEqual(
          engine.points.map((p) => p.size),
          [300, 600],
        );
        for (const point of engine.points) {
          const at = `${engine.engine} ${point.size}`;
          positive(point.seeding.seconds, `${at} seeding seconds`);
          assert.equal(point.seeding.added, 300);
          assert.deepEqual(
            point.calls.map((c) => c.call),
            [...SCALE_CALLS],
          );
          for (const call of point.calls) {
            assert.equal(call.problem, undefined, `${at} ${call.call}: ${call.problem}`);
            assert.ok(call.requests > 0 && call.failed === 0, `${at} ${call.call}`);
            positive(call.latencyMs.p50, `${at} ${call.call} p50`);
            assert.ok(call.latencyMs.p50 <= call.latencyMs.p99, `${at} ${call.call} p50 ≤ p99`);
          }
          const total = (id: string) => point.calls.find((c) => c.call === id)?.total;
          assert.equal(total('count'), point.size, `${at}: the count is the table's size`);
          assert.equal(total('filter-miss'), 0);
          positive(total('filter-hit-total'), `${at} filter hit total`);
          assert.ok(!('error' in point.mixed), `${at} mixed load: ${JSON.stringify(point.mixed)}`);
          const mixed = point.mixed;
          positive(mixed.alone.median, `${at} GetUser alone`);
          positive(mixed.beside.median, `${at} GetUser beside`);
          positive(mixed.ratio.median, `${at} ratio`);
          assert.equal(mixed.failed, 0);
          positive(mixed.listsPerSecond, `${at} filtered lists per second`);
          const delay = mixed.eventLoopDelayP99Ms.beside?.median;
          assert.ok(delay !== undefined && Number.isFinite(delay) && delay >= 0, `${at} event-loop delay ${delay}`);
          for (const run of mixed.runs) positive(run.server.storeGetUsers, `${at} store get_user operations`);
          for (const run of mixed.runs.filter((r) => r.beside)) positive(run.lists?.longest?.ms, `${at} longest list`);
        }
      }
      const markdown = readFileSync(join(out, 'report.md'), 'utf8');
      assert.match(markdown, /## Scale with data\n/);
      assert.match(markdown, /## Scale with data — SQLite: latency by table size/);
      assert.match(markdown, /## Scale with data — GetUser beside a filtered-list loop/);
      if (withPostgres) assert.match(markdown, /## Scale with data — PostgreSQL: latency by table size/);
      assert.match(markdown, /\| SQLite: filter that matches nothing, p99 ≤ 10 ms at 600 users, the largest measured/);
      assert.match(markdown, /\| filter miss "zqxj", first page with total \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \|/);
      assert.match(markdown, /The hit's total \(X-Total-Count; [^)]*\): \d+ of 300; \d+ of 600\./);
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      assert.equal((html.match(/<polyline/g) ?? []).length, SCALE_CALLS.length * scale.engines.length);
    },
  );

  it('reads a histogram between two scrapes, and a gauge', () => {
    const scrapeOf = (counts: number[]) =>
      parseScrape(
        [
          '# HELP db_client_operation_duration_seconds x',
          ...['0.001', '0.01', '0.1', '+Inf'].map(
            (le, i) =>
              `db_client_operation_duration_seconds_bucket{db_system_name="sqlite",db_operation_name="get_user",le="${le}"} ${counts[i]}`,
          ),
          'nodejs_eventloop_lag_p99_seconds 0.0125',
        ].join('\n'),
      );
    const before = scrapeOf([10, 10, 10, 10]);
    // 100 more: 90 within 1 ms, 9 within 10 ms, 1 within 100 ms.
    const after = scrapeOf([100, 109, 110, 110]);
    const labels = { db_operation_name: 'get_user' };
    const name = 'db_client_operation_duration_seconds';
    assert.deepEqual(histogramBetween(before, after, name, labels, 90), { count: 100, percentileAtMostS: 0.001 });
    assert.deepEqual(histogramBetween(before, after, name, labels, 99), { count: 100, percentileAtMostS: 0.01 });
    assert.deepEqual(histogramBetween(before, after, name, labels, 100), { count: 100, percentileAtMostS: 0.1 });
    assert.deepEqual(histogramBetween(after, after, name, labels, 99), { count: 0, percentileAtMostS: undefined });
    assert.equal(valueOf(after, 'nodejs_eventloop_lag_p99_seconds'), 0.0125);
    assert.equal(valueOf(after, 'db_client_connections_pending_requests'), undefined, 'absent is not zero');
  });

  it('reads the deepest offset page within the table and the offset cap', () => {
    const pageSize = 50;
    assert.equal(deepestPage(300), 6, 'offset 250: the last page of 300 users');
    assert.equal(deepestPage(301), 7);
    assert.equal(deepestPage(1_000_000), LIMITS.offsetMax / pageSize);
    assert.ok((deepestPage(1_000_000) - 1) * pageSize < LIMITS.offsetMax, 'within the cap');
  });

  it('states each target at the largest size measured and judges it', () => {
    const call = (id: ScaleLatency['call'], p99: number): ScaleLatency => ({
      call: id,
      label: id,
      path: '/',
      requests: 200,
      failed: 0,
      latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99 },
    });
    const spreadOf = (median: number) => ({ median, min: median, max: median });
    const point = (size: number, missP99: number, ratio: number, delay: number): ScalePoint => ({
      size,
      seeding: { added: size, seconds: 1, usersPerSecond: size, cumulativeS: 1 },
      calls: [call('filter-miss', missP99)],
      mixed: {
        connections: 64,
        alone: spreadOf(1000),
        beside: spreadOf(1000 * ratio),
        ratio: spreadOf(ratio),
        aloneP99Ms: 1,
        besideP99Ms: 1,
        eventLoopDelayP99Ms: { alone: spreadOf(1), beside: spreadOf(delay) },
        listsPerSecond: 10,
        failed: 0,
        runs: [],
      },
    });
    const results = {
      scale: {
        engines: [
          { engine: 'sqlite', database: 'sqlite', points: [point(10_000, 50, 0.5, 30), point(1_000_000, 4, 0.9, 2)] },
          { engine: 'postgresql', database: 'postgres://x', points: [point(5000, 12, 0.79, 10.5)] },
        ],
      },
    } as unknown as BenchResults;
    const checks = scaleTargets(results);
    assert.deepEqual(
      checks.map((c) => [c.measured, c.met]),
      [
        [4, true],
        [0.9, true],
        [2, true],
        [12, false],
        [0.79, false],
        [10.5, false],
      ],
    );
    assert.match(checks[0]!.target, /^SQLite: .* at 1,000,000 users$/);
    assert.match(
      checks[3]!.target,
      /^PostgreSQL: .* at 5,000 users, the largest measured \(the target is at 1,000,000\)$/,
    );
    assert.equal(checks[0]!.required, SCALE_TARGETS.filterMissP99Ms);
    assert.equal(checks[0]!.unit, 'ms');
    assert.equal(checks[1]!.unit, undefined, 'a ratio');
  });

  it('draws p99 against size on log axes, ticked at the sizes measured', () => {
    assert.deepEqual(logTicks(1, 1000), [1, 10, 100, 1000]);
    assert.deepEqual(logTicks(1, 10), [1, 2, 5, 10]);
    const svg = linePlot({
      xLabel: 'users',
      yLabel: 'p99 ms',
      series: [
        {
          name: 'a',
          points: [
            { x: 10_000, y: 1 },
            { x: 1_000_000, y: 100 },
          ],
        },
        { name: 'b <flat>', points: [{ x: 10_000, y: 3 }] },
      ],
    });
    assert.equal((svg.match(/<polyline/g) ?? []).length, 1, 'a line where there are two points');
    assert.equal((svg.match(/<circle/g) ?? []).length, 3);
    for (const label of ['10,000', '1,000,000', 'b &lt;flat&gt;', '1', '10', '100'])
      assert.ok(svg.includes(`>${label}<`), label);
    assert.ok(!svg.includes('>1.00<'), 'ticks as people write them');
    // Logarithmic: 3 ms sits log10(3) / 2 of the way up from 1 ms to 100 ms (the axis spans those two decades).
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    const share = (ys[0]! - ys[2]!) / (ys[0]! - ys[1]!);
    assert.ok(Math.abs(share - Math.log10(3) / 2) < 0.01, `3 ms drawn ${share} of the way up`);
    assert.equal(linePlot({ xLabel: 'x', yLabel: 'y', series: [] }), '');
  });
});

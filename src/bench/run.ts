import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { redactedDb } from '../app/config.js';
import { type BenchDatabase, createBenchDatabase } from './databases.js';
import { prepareData } from './fixtures.js';
import { targetChecks } from './report/findings.js';
import { h2loadVersion } from './load/drivers.js';
import type { BenchOptions } from './options.js';
import { pinSelf, planPinning } from './pinning.js';
import { Progress } from './progress.js';
import { renderHtml } from './report/html.js';
import { renderMarkdown } from './report/markdown.js';
import type { BenchResults } from './results.js';
import { measurePayloads } from './scenarios/payload.js';
import { costSteps, runCost } from './scenarios/cost.js';
import { ledgerSteps, runLedger } from './scenarios/ledger.js';
import { type OverheadDataset, overheadSteps, runOverhead } from './scenarios/overhead.js';
import { runRuntimes, runtimesSteps } from './scenarios/runtimes.js';
import { distinctRuntimes, resolveRuntime, thisRuntime } from './runtimes.js';
import { runScale, SCALE_SAMPLING, scaleSteps } from './scenarios/scale.js';
import { runScaling, scalingSteps, workerCounts } from './scenarios/scaling.js';
import { runSerialization, SERIALIZATION_STEPS } from './scenarios/serialization.js';
import { runStreaming, streamingSteps } from './scenarios/streaming.js';
import { runUnary, unarySteps } from './scenarios/unary.js';

/** The installed version of a package (or of twinapi itself, for `.`), read from its package.json. */
function versionOf(name: string): string {
  const path = name === '.' ? '../../package.json' : `../../node_modules/${name}/package.json`;
  try {
    return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function loadGenerator(options: BenchOptions): BenchResults['loadGenerator'] {
  const h2load = h2loadVersion();
  if (options.driver === 'h2load' && !h2load)
    throw new Error('--driver h2load: h2load is not installed (Debian: apt-get install nghttp2-client)');
  if (h2load && options.driver !== 'node')
    return { driver: 'h2load', version: h2load, note: 'h2load drives HTTP/1.1, HTTP/2 and gRPC alike' };
  return {
    driver: 'node',
    version: process.version,
    note: h2load
      ? 'the built-in Node driver, as asked (--driver node)'
      : 'h2load is not installed, so the built-in Node driver ran; ' +
        'it costs more CPU per request than h2load, so check the saturation column (install nghttp2-client for h2load)',
  };
}

export interface BenchOutcome {
  dir: string;
  results: BenchResults;
}

/** Runs the chosen scenarios and writes results.json, report.md and report.html into `options.out`. */
export async function runBench(
  options: BenchOptions,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<BenchOutcome> {
  const startedAt = new Date().toISOString();
  const pinning = planPinning();
  const generator = loadGenerator(options);
  pinSelf(pinning);
  const want = new Set(options.scenarios);
  const unarySettings = {
    driver: generator.driver,
    pinning,
    concurrency: options.concurrency,
    streams: options.streams,
    runs: options.runs,
    durationS: options.durationS,
    warmupS: options.warmupS,
    only: options.targets,
  };
  const scalingSettings = {
    driver: generator.driver,
    cores: pinning.cores,
    counts: workerCounts(pinning.cores, options.quick),
    connections: Math.max(...options.concurrency),
    streams: options.streams,
    runs: options.runs,
    durationS: options.durationS,
    warmupS: options.warmupS,
  };
  const costSettings = {
    driver: generator.driver,
    pinning,
    connections: Math.max(...options.concurrency),
    // Many short pairs beat few long runs against drift: each pair is its own comparison.
    pairs: options.quick ? 1 : Math.max(6, options.runs * 2),
    durationS: options.durationS,
    warmupS: options.warmupS,
  };
  const overheadSettings = {
    driver: generator.driver,
    pinning,
    connections: Math.max(...options.concurrency),
    runs: options.runs,
    durationS: options.durationS,
    warmupS: options.warmupS,
  };
  const streamingSettings = { pinning, runs: options.runs, subscribers: options.subscribers, events: options.events };
  const runtimesSettings = { ...overheadSettings, streaming: streamingSettings };
  // Resolved first (a runtime named by its major may be installed, and given an SQLite addon, once).
  const runtimes = want.has('runtimes')
    ? distinctRuntimes(
        [thisRuntime(), ...options.node.map((spec) => resolveRuntime(spec, (line) => stream.write(`${line}\n`)))],
        (line) => stream.write(`${line}\n`),
      )
    : [];
  const work = mkdtempSync(join(tmpdir(), 'twinapi-bench-'));
  const scaleSettings = {
    driver: generator.driver,
    pinning,
    sizes: options.sizes,
    databases: options.databases,
    connections: Math.max(...options.concurrency),
    runs: options.runs,
    durationS: options.durationS,
    warmupS: options.warmupS,
    sampling: options.quick ? SCALE_SAMPLING.quick : SCALE_SAMPLING.full,
    dir: work,
  };
  // The shared 10,000-user database serves every scenario but scale, which grows its own.
  const needsData = options.scenarios.some((s) => s !== 'scale');
  const steps =
    (needsData ? 1 : 0) +
    (want.has('serialization') ? SERIALIZATION_STEPS : 0) +
    (want.has('unary') ? unarySteps(unarySettings) : 0) +
    (want.has('cost') ? costSteps(costSettings) : 0) +
    // Seeding its own database on each engine, then its loads.
    (want.has('overhead') ? options.databases.length + overheadSteps(overheadSettings, options.databases.length) : 0) +
    (want.has('ledger') ? ledgerSteps() : 0) +
    (want.has('scaling') ? scalingSteps(scalingSettings) : 0) +
    (want.has('streaming') ? streamingSteps(streamingSettings) : 0) +
    (want.has('scale') ? scaleSteps(scaleSettings) : 0) +
    (want.has('runtimes') ? runtimesSteps(runtimesSettings, runtimes.length) : 0);
  const progress = new Progress(steps, stream);
  let database: BenchDatabase | undefined;
  const overheadDatabases: BenchDatabase[] = [];
  try {
    if (needsData) progress.step(`seeding ${options.users} users`);
    // Every scenario but scale runs on one database: the first --db names it (SQLite by default).
    database = needsData ? await createBenchDatabase(options.databases[0]!, work) : undefined;
    const data = database ? await prepareData(database.db, options.users) : undefined;
    const results: BenchResults = {
      startedAt,
      finishedAt: '',
      machine: {
        cpuModel: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        os: `${type()} ${release()}`,
        loadAverage: loadavg(),
      },
      versions: {
        twinapi: versionOf('.'),
        node: process.version,
        '@grpc/grpc-js': versionOf('@grpc/grpc-js'),
        '@grpc/proto-loader': versionOf('@grpc/proto-loader'),
        fastify: versionOf('fastify'),
        express: versionOf('express'),
        protobufjs: versionOf('protobufjs'),
        'better-sqlite3': versionOf('better-sqlite3'),
        kysely: versionOf('kysely'),
        msgpackr: versionOf('msgpackr'),
        '@msgpack/msgpack': versionOf('@msgpack/msgpack'),
        h2load: h2loadVersion() ?? 'not installed',
      },
      // A PostgreSQL URL's password stays out of the results.
      options: { ...options, databases: options.databases.map(redactedDb) },
      pinning,
      loadGenerator: generator,
    };
    if (data) {
      if (want.has('serialization')) {
        results.serialization = runSerialization(
          data.sampleUser,
          data.listPage,
          { roundMs: options.serializationRoundMs, rounds: options.serializationRounds },
          progress,
        );
      }
      if (want.has('payload')) results.payload = measurePayloads(data.sampleUser, data.listPage);
      if (want.has('unary')) results.unary = await runUnary(data, unarySettings, progress);
      if (want.has('cost')) results.cost = await runCost(data, costSettings, progress);
      if (want.has('overhead')) {
        // On every engine named, each in a database of its own: its writes add and rename users.
        const datasets: OverheadDataset[] = [];
        for (const spec of options.databases) {
          const own = await createBenchDatabase(spec, work);
          overheadDatabases.push(own);
          progress.step(`seeding ${options.users} users on ${own.label} (overhead)`);
          datasets.push({ engine: own.engine, data: await prepareData(own.db, options.users) });
        }
        results.overhead = await runOverhead(datasets, overheadSettings, progress);
      }
      if (want.has('ledger')) results.ledger = await runLedger(data, { ...overheadSettings, dir: work }, progress);
      if (want.has('scaling')) results.scaling = await runScaling(data, scalingSettings, progress);
      // Last: its writes add users after the list page the unary scenario reads.
      if (want.has('streaming')) results.streaming = await runStreaming(data, streamingSettings, progress);
      // After it, for the same reason.
      if (want.has('runtimes')) results.runtimes = await runRuntimes(runtimes, data, runtimesSettings, progress);
    }
    if (want.has('scale')) results.scale = await runScale(scaleSettings, progress);
    progress.finish();
    results.finishedAt = new Date().toISOString();
    results.targets = targetChecks(results);
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(options.out, 'report.md'), renderMarkdown(results));
    writeFileSync(join(options.out, 'report.html'), renderHtml(results));
    return { dir: options.out, results };
  } finally {
    await database?.drop();
    for (const own of overheadDatabases) await own.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

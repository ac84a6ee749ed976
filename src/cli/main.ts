#!/usr/bin/env node
import cluster from 'node:cluster';
import { benchOptions, BENCH_FLAGS, SCENARIOS } from '../bench/options.js';
import { runBench } from '../bench/run.js';
import { openApp } from './app.js';
import { describeSettings, loadConfig, parseCommandLine } from './config.js';
import { openStore } from '../store/open.js';
import { createLogger } from './logger.js';
import { serve } from './serve.js';
import { runWorkers } from './workers.js';
import { seed } from './seed.js';

const USAGE = `Usage: twinapi <command> [options]

Commands:
  serve              start the servers on the configured database
  seed --count N     add N realistic demo users
  bench              measure gRPC against REST on this machine; writes bench-results/<time>/
                     report.md, report.html and results.json
    --quick                  a smoke run of under a minute (too short to quote)
    --scenario LIST          ${SCENARIOS.join(',')} (default: all)
    --duration S             measured seconds per load point (default 5)
    --warmup S               warm-up seconds per load point (default 2)
    --concurrency LIST       connections per load point (default 1,16,64)
    --streams N              streams per HTTP/2 connection (default 1)
    --runs N                 repetitions per point (default 3)
    --users N                users seeded first (default 10000)
    --subscribers N          fan-out subscribers (default 50)
    --events N               fan-out events (default 2000)
    --driver auto|h2load|node  load generator (default: h2load when installed)
    --target LIST            only unary targets whose id starts with these
    --out DIR                where the report goes

Options (flag, environment variable, default):
${describeSettings()}
`;

async function main(argv: string[]): Promise<number> {
  const { command, help, flags, switches } = parseCommandLine(argv, ['count', ...BENCH_FLAGS], ['quick']);
  if (help || !command) {
    process.stdout.write(USAGE);
    return help ? 0 : 2;
  }
  const config = loadConfig(flags);
  const logger = createLogger(config.logLevel);
  switch (command) {
    case 'serve':
      if (cluster.isPrimary && config.workers > 1) {
        // Migrate once, before the workers race to; a bad --db fails here, not N times.
        await (await openStore(config.db, { poolSize: 1 })).store.close();
        return runWorkers(config.workers, logger);
      }
      return serve(config, logger);
    case 'seed': {
      const count = Number(flags.count ?? '1000');
      if (!Number.isInteger(count) || count < 1) throw new Error('--count must be a whole number of at least 1');
      const app = await openApp(config, logger);
      try {
        const created = await seed(app.service, count);
        logger.info({ created, db: config.db }, 'seeded demo users');
      } finally {
        await app.close();
      }
      return 0;
    }
    case 'bench': {
      const { dir, results } = await runBench(benchOptions(flags, switches.has('quick')));
      const failed = (results.unary?.failures.length ?? 0) + (results.scaling?.failures.length ?? 0);
      process.stdout.write(`report: ${dir}/report.html, ${dir}/report.md, raw numbers: ${dir}/results.json\n`);
      return failed > 0 ? 1 : 0;
    }
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`twinapi: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  )
  .finally(() => {
    // A worker's channel to the primary would keep it alive after draining.
    if (cluster.isWorker) process.disconnect();
  });

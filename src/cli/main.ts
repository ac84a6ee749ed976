#!/usr/bin/env node
import { benchOptions, BENCH_FLAGS, SCENARIOS } from '../bench/options.js';
import { runBench } from '../bench/run.js';
import { openApp, startServers } from './app.js';
import { describeSettings, loadConfig, parseCommandLine, redactedDb } from './config.js';
import { createLogger } from './logger.js';
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
      const failed = results.unary?.failures.length ?? 0;
      process.stdout.write(`report: ${dir}/report.html, ${dir}/report.md, raw numbers: ${dir}/results.json\n`);
      return failed > 0 ? 1 : 0;
    }
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

async function serve(config: ReturnType<typeof loadConfig>, logger: ReturnType<typeof createLogger>): Promise<number> {
  const app = await openApp(config, logger);
  await startServers(app, config, logger);
  for (const server of app.servers) logger.info({ server: server.name, address: server.address }, 'listening');
  logger.info({ db: redactedDb(config.db), revision: app.feed.headRevision }, 'twinapi is serving');
  // Serving lasts until a signal, whether or not a server holds the event loop open.
  const untilSignal = setInterval(() => {}, 2 ** 30);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      clearInterval(untilSignal);
      logger.info({ signal }, 'shutting down: finishing in-flight calls');
      app.close(config.shutdownTimeoutMs).then(
        () => {
          logger.info('stopped cleanly');
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`twinapi: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

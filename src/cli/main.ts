#!/usr/bin/env node
import cluster from 'node:cluster';
import { tokenFor } from '../app/access.js';
import { openApp } from '../app/app.js';
import { describeSettings, loadConfig, parseCommandLine } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { seed } from '../app/seed.js';
import { runWorkers } from '../app/workers.js';
import { openStore } from '../store/open.js';
import { serve } from './serve.js';

const USAGE = `Usage: twinapi <command> [options]

Commands:
  serve              start the servers on the configured database
  seed --count N     add N realistic demo users
  token --role admin|user [--sub ID] [--ttl 1h]
                     print a signed bearer token (the key is found as serve finds it)
  bench              measure gRPC against REST on this machine (twinapi bench --help)
  users <action>     list, get, create, update, delete or watch users over any protocol
                     (twinapi users --help)

Options (flag, environment variable, default):
${describeSettings()}
`;

async function main(argv: string[]): Promise<number> {
  // The lab is loaded only for its own command: serving never pays for it.
  if (argv[0] === 'bench') {
    const { BENCH_FLAGS, BENCH_SWITCHES, BENCH_USAGE, benchCommand } = await import('../bench/command.js');
    const { help, flags, switches } = parseCommandLine(argv, BENCH_FLAGS, BENCH_SWITCHES);
    if (help) return usage(BENCH_USAGE, 0);
    return benchCommand(flags, switches.has('quick'));
  }
  // A client of a running server: it takes none of the server's settings.
  if (argv[0] === 'users') {
    const { usersCommand } = await import('./users.js');
    const interrupt = new AbortController();
    process.once('SIGINT', () => interrupt.abort());
    return usersCommand(argv.slice(1), {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      isTTY: process.stdout.isTTY === true,
      env: process.env,
      interrupted: interrupt.signal,
    });
  }
  const { command, help, flags } = parseCommandLine(argv, ['count', 'role', 'sub', 'ttl']);
  if (help || !command) return usage(USAGE, help ? 0 : 2);
  const config = loadConfig(flags);
  const logger = createLogger(config.logLevel);
  switch (command) {
    case 'serve':
      if (cluster.isPrimary && config.workers > 1) {
        // Migrate once, before the workers race to; a bad --db fails here, not N times.
        await (await openStore(config.db, { poolSize: 1 })).store.close();
        return runWorkers(config.workers, logger, {
          ...(config.metricsPort ? { metrics: { host: config.host, port: config.metricsPort } } : {}),
        });
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
    case 'token':
      process.stdout.write(`${await tokenFor(config, { role: flags.role, subject: flags.sub, ttl: flags.ttl })}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command: ${command}\n\n`);
      return usage(USAGE, 2);
  }
}

function usage(text: string, code: number): number {
  (code === 0 ? process.stdout : process.stderr).write(text);
  return code;
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

import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { checkAccess } from '../app/access.js';
import { openApp, startServers } from '../app/app.js';
import { redactedDb, type Config } from '../app/config.js';
import { HEARS_SHUTDOWN_MESSAGE, SHUTDOWN_MESSAGE } from '../app/workers.js';

/**
 * Resolves with the reason of the first stop request: SIGINT, SIGTERM, or
 * (in a worker of --workers N) the primary's message. Listening starts at
 * once, so a request that comes while the servers are still starting is not
 * lost. A second signal means "exit now"; the primary's message never
 * escalates, because with Ctrl-C a worker hears the signal and the message.
 */
function stopRequested(logger: Logger): Promise<string> {
  return new Promise((resolve) => {
    let requested = false;
    const request = (reason: string, escalates: boolean) => {
      if (!requested) {
        requested = true;
        resolve(reason);
      } else if (escalates) {
        logger.warn({ signal: reason }, 'second signal: exiting now');
        process.exit(1);
      }
    };
    process.on('SIGINT', () => request('SIGINT', true));
    process.on('SIGTERM', () => request('SIGTERM', true));
    if (cluster.isWorker) {
      process.on('message', (message) => message === SHUTDOWN_MESSAGE && request('primary', false));
      process.send!(HEARS_SHUTDOWN_MESSAGE);
    }
  });
}

/** `twinapi serve`: both servers until a stop request, then a graceful drain. Resolves with the exit code. */
export async function serve(config: Config, logger: Logger): Promise<number> {
  const stop = stopRequested(logger);
  checkAccess(config);
  const app = await openApp(config, logger);
  try {
    await startServers(app, config, logger);
  } catch (error) {
    // Whatever did start stops, so the process can exit with the reason.
    await app.close(0);
    throw error;
  }
  for (const server of app.servers) logger.info({ server: server.name, address: server.address }, 'listening');
  logger.info({ db: redactedDb(config.db), revision: app.feed.headRevision }, 'twinapi is serving');
  // Serving lasts until a stop request, whether or not a server holds the event loop open.
  const untilStop = setInterval(() => {}, 2 ** 30);
  const reason = await stop;
  clearInterval(untilStop);
  logger.info({ reason }, 'shutting down: finishing in-flight calls');
  try {
    await app.close(config.shutdownTimeoutMs);
    logger.info('stopped cleanly');
    return 0;
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    return 1;
  }
}

import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { EventFeed } from '../domain/ports.js';
import type { ChangeFeed } from '../events/change-feed.js';
import { clusterScrape } from '../telemetry/cluster.js';
import { type MetricsServer, startMetricsServer } from '../telemetry/metrics-server.js';

/** Restarts allowed within RESTART_WINDOW_MS before the primary gives up: a crash loop is not service. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** What the primary sends a worker to make it drain and exit. */
export const SHUTDOWN_MESSAGE = 'twinapi:shutdown';
/** What a worker sends once it listens for SHUTDOWN_MESSAGE; before that, a message would be lost. */
export const HEARS_SHUTDOWN_MESSAGE = 'twinapi:hears-shutdown';

/** A worker's commit, relayed by the primary to the other workers. */
interface CommitMessage {
  twinapiCommit: number | undefined;
}
const isCommit = (message: unknown): message is CommitMessage =>
  typeof message === 'object' && message !== null && 'twinapiCommit' in message;

/**
 * In a worker: `feed` as the domain sees it, which also tells the sibling
 * workers of each commit, and is woken by theirs. Without this they would
 * learn of each other's commits only at the feed's next poll.
 */
export function sharedWithSiblingWorkers(feed: ChangeFeed): EventFeed {
  process.on('message', (message) => {
    if (isCommit(message)) feed.notify(message.twinapiCommit, 'worker');
  });
  const tellSiblings = (revision: number | undefined) => {
    if (process.connected) process.send!({ twinapiCommit: revision } satisfies CommitMessage);
  };
  return {
    watch: (options) => feed.watch(options),
    notify(revision) {
      feed.notify(revision);
      tellSiblings(revision);
    },
    committed(events) {
      feed.committed(events);
      tellSiblings(events.at(-1)?.revision);
    },
  };
}

/**
 * The primary of `--workers N`: forks N processes that each serve both
 * protocols on the same ports (node cluster shares the listening sockets),
 * replaces a worker that dies, and on SIGINT/SIGTERM asks every worker to
 * drain (a message, not a signal: with Ctrl-C the workers hear the signal
 * too, and a second signal means "exit now") and waits for them. A worker
 * still loading its code cannot hear the message yet: it gets SIGTERM.
 */
export async function runWorkers(
  count: number,
  logger: Logger,
  options: { metrics?: { host: string; port: number } } = {},
): Promise<number> {
  // One scrape for the whole cluster: the primary serves the workers' metrics, summed.
  let metricsServer: MetricsServer | undefined;
  if (options.metrics) {
    metricsServer = await startMetricsServer(
      { ...options.metrics, scrape: clusterScrape() },
      logger.child({ server: 'metrics' }),
    );
    logger.info({ server: 'metrics', address: metricsServer.address }, 'listening');
  }
  const exitCode = await superviseWorkers(count, logger);
  await metricsServer?.shutdown(0);
  return exitCode;
}

function superviseWorkers(count: number, logger: Logger): Promise<number> {
  let stopping = false;
  let exitCode = 0;
  const restarts: number[] = [];
  const hearing = new Set<number>();
  cluster.on('message', (from, message) => {
    if (message === HEARS_SHUTDOWN_MESSAGE) hearing.add(from.id);
    if (isCommit(message)) {
      for (const worker of Object.values(cluster.workers ?? {}))
        if (worker && worker !== from && worker.isConnected()) worker.send(message);
    }
  });
  const fork = () =>
    cluster.fork().on('online', function (this: Worker) {
      logger.info({ worker: this.process.pid }, 'worker started');
    });
  for (let i = 0; i < count; i++) fork();
  return new Promise((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      hearing.delete(worker.id);
      if (stopping) {
        // SIGTERM ends a worker that was still starting: nothing was served, nothing lost.
        if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(exitCode);
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        logger.fatal(
          { worker: worker.process.pid, code, signal },
          `workers keep dying (${restarts.length} in a minute): stopping`,
        );
        exitCode = 1;
        stop('crash loop');
        return;
      }
      logger.error({ worker: worker.process.pid, code, signal }, 'worker died: starting a new one');
      fork();
    });
    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ reason }, 'stopping workers');
      const workers = Object.values(cluster.workers ?? {});
      if (workers.length === 0) resolve(exitCode);
      for (const worker of workers) {
        if (worker && hearing.has(worker.id)) worker.send(SHUTDOWN_MESSAGE);
        else worker?.process.kill('SIGTERM');
      }
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

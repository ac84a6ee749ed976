import type { Logger } from 'pino';
import { UserService } from '../domain/user-service.js';
import { ChangeFeed } from '../events/change-feed.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Config } from './config.js';

/** A protocol server the app runs; each stops accepting, then drains. */
export interface RunningServer {
  name: string;
  address: string;
  shutdown(timeoutMs: number): Promise<void>;
}

export interface App {
  service: UserService;
  feed: ChangeFeed;
  servers: RunningServer[];
  close(timeoutMs?: number): Promise<void>;
}

/** Wires store, change feed and domain; the protocol servers attach to `service`. */
export async function openApp(config: Pick<Config, 'db' | 'eventRetention'>, logger: Logger): Promise<App> {
  const store = await openSqliteStore(config.db);
  const feed = await ChangeFeed.start(store.changeLog, {
    retention: config.eventRetention,
    onError: (error) => logger.error({ err: error }, 'change feed could not read the change log'),
  });
  const service = new UserService(store, feed);
  const servers: RunningServer[] = [];
  return {
    service,
    feed,
    servers,
    async close(timeoutMs = 10_000) {
      await Promise.all(servers.map((s) => s.shutdown(timeoutMs)));
      await feed.close();
      await store.close();
    },
  };
}

import { after } from 'node:test';
import { type App, openApp, startServers } from '../../src/app/app.js';
import { type Config, loadConfig } from '../../src/app/config.js';
import { freePort } from '../../src/app/free-port.js';
import { createLogger } from '../../src/app/logger.js';
import { UserClient } from '../../src/grpc/client.js';
import type { GrpcServer } from '../../src/grpc/server.js';
import { RestClient } from '../../src/rest/client.js';
import type { RestServer, RestServerOptions } from '../../src/rest/server.js';
import { testDatabase } from './databases.js';
import { GRPC_ENGINE } from './engine.js';
import { ADMIN_TOKEN, TEST_JWT_SECRET } from './tokens.js';

export interface Stack {
  app: App;
  config: Config;
  server: GrpcServer;
  address: string;
  client: UserClient;
  rest: RestServer;
  baseUrl: string;
  /** REST as an admin (the stack verifies tokens of test/support/tokens.ts). */
  restClient: RestClient;
  /** GET /metrics of this stack, with `options.metrics`. */
  metricsUrl: string;
  /** Shuts the app down once, whichever of the test or `after` comes first. */
  close: () => Promise<void>;
}

/** One JSON log line of the app. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** The real app (SQLite file, change feed, gRPC and REST servers on loopback port 0) and real clients. */
export async function startStack(
  flags: Record<string, string> = {},
  options: {
    logs?: LogLine[];
    /** Serve metrics (on a free port). */
    metrics?: boolean;
    /** Where REST finds the web console and the bench reports (defaults: the package's build, the working directory's). */
    files?: Partial<Pick<RestServerOptions, 'consoleDir' | 'benchResultsDir'>>;
  } = {},
): Promise<Stack> {
  const metricsPort = options.metrics ? String(await freePort()) : '0';
  const config = loadConfig(
    {
      db: await testDatabase(),
      host: '127.0.0.1',
      'grpc-port': '0',
      'grpc-engine': GRPC_ENGINE,
      'rest-port': '0',
      'log-level': 'silent',
      'jwt-secret': TEST_JWT_SECRET,
      // Load shedding off unless a test asks (limits.test.ts): a suite's own setup (three stacks
      // starting, a 1,200-user batch) can stall the loop past the limit and refuse the next calls.
      'max-event-loop-delay-ms': '0',
      // Metrics off unless a test asks: 9464 is one port for every stack.
      'metrics-port': metricsPort,
      ...flags,
    },
    {},
  );
  const { logs } = options;
  const logger = createLogger(
    config.logLevel,
    false,
    logs && { write: (line: string) => logs.push(JSON.parse(line) as LogLine) },
  );
  const app = await openApp(config, logger);
  await startServers(app, config, logger, options.files);
  const server = app.servers.find((s) => s.name === 'grpc') as GrpcServer;
  const address = `127.0.0.1:${server.port}`;
  const client = new UserClient({ address, defaultDeadlineMs: 10_000, token: ADMIN_TOKEN });
  const rest = app.servers.find((s) => s.name === 'rest') as RestServer;
  const baseUrl = `http://127.0.0.1:${rest.port}`;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      client.close();
      await app.close(1000);
    })());
  after(close);
  const restClient = new RestClient(baseUrl, ADMIN_TOKEN);
  const metricsUrl = `http://127.0.0.1:${config.metricsPort}/metrics`;
  return { app, config, server, address, client, rest, baseUrl, restClient, metricsUrl, close };
}

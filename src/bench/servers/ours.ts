// twinapi itself, as `twinapi serve` runs it (default settings, info logging), on loopback ports.
import { openApp, startServers } from '../../cli/app.js';
import { loadConfig } from '../../cli/config.js';
import { createLogger } from '../../cli/logger.js';
import type { GrpcServer } from '../../grpc/server.js';
import type { RestServer } from '../../rest/server.js';
import { announce, serverSettings } from './entry.js';

const { db, http2 } = serverSettings<{ db: string; http2: boolean }>();
const config = loadConfig(
  { db, host: '127.0.0.1', 'grpc-port': '0', 'rest-port': '0', 'rest-http2': String(http2), 'log-level': 'info' },
  {},
);
const logger = createLogger(config.logLevel, false);
const app = await openApp(config, logger);
await startServers(app, config, logger);
const grpc = app.servers.find((s): s is GrpcServer => s.name === 'grpc')!;
const rest = app.servers.find((s): s is RestServer => s.name === 'rest')!;
announce({ grpc: grpc.port, http: rest.port }, () => app.close(2000));

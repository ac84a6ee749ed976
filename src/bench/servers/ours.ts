// twinapi itself, as `twinapi serve` runs it (default settings, info logging, metrics on), on loopback
// ports; the access log is off unless asked, as docs/operating.md advises under load (its cost is one write per call),
// and so is load shedding (below).
// With `workers` above 1 it is the primary of a node cluster, as `serve --workers N` is.
import cluster from 'node:cluster';
import { openApp, startServers } from '../../app/app.js';
import { loadConfig } from '../../app/config.js';
import { freePort } from '../../app/free-port.js';
import { createLogger } from '../../app/logger.js';
import { runWorkers } from '../../app/workers.js';
import { GRPC_DEFAULTS, type GrpcServer } from '../../grpc/server.js';
import type { RestServer } from '../../rest/server.js';
import type { OursSettings } from '../fixtures.js';
import { announce, type ServerPorts, serverSettings } from './entry.js';
import { answerProfileMessages } from './profiler.js';

const {
  db,
  http2,
  workers = 1,
  jwtSecret,
  auth = 'jwt',
  metrics = true,
  accessLog = false,
  grpcEngine = GRPC_DEFAULTS.engine,
  sqliteNativeBinding = '',
} = serverSettings<OursSettings>();
const config = loadConfig(
  {
    db,
    host: '127.0.0.1',
    'grpc-port': '0',
    'rest-port': '0',
    'rest-http2': String(http2),
    'log-level': 'info',
    'jwt-secret': jwtSecret,
    auth,
    'metrics-port': metrics ? String(await freePort()) : '0',
    'access-log': String(accessLog),
    'grpc-engine': grpcEngine,
    'sqlite-native-binding': sqliteNativeBinding,
    // Load shedding off: the lab drives servers past saturation on purpose (two at once on one
    // core in the cost scenario, 100,000 fan-out writes), where the shedder would refuse calls
    // and a refused call measures nothing.
    'max-event-loop-delay-ms': '0',
  },
  {},
);
const logger = createLogger(config.logLevel, false);
// The lab scrapes it (the scale scenario reads the event-loop delay and the pool from it).
const metricsPort = config.metricsPort ? { metrics: config.metricsPort } : {};

if (cluster.isPrimary && workers > 1) {
  // The lab hears from the primary once every worker listens (they share the ports).
  let ready = 0;
  cluster.on('message', (_worker, message: { type?: string; ports?: ServerPorts }) => {
    if (message.type === 'ready' && ++ready === workers)
      process.send?.({ ...message, ports: { ...message.ports, ...metricsPort } });
  });
  process.exitCode = await runWorkers(workers, logger, {
    ...(config.metricsPort ? { metrics: { host: config.host, port: config.metricsPort } } : {}),
  });
} else {
  const app = await openApp(config, logger);
  await startServers(app, config, logger);
  answerProfileMessages();
  const grpc = app.servers.find((s): s is GrpcServer => s.name === 'grpc')!;
  const rest = app.servers.find((s): s is RestServer => s.name === 'rest')!;
  announce({ grpc: grpc.port, http: rest.port, ...metricsPort }, () => app.close(2000));
}

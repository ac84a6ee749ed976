// Metrics, access logs and tracing for a running app, from the configuration; each part costs
// nothing when it is off, and with all three off the adapters observe nothing at all.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { accessLogWriter } from '../telemetry/access-log.js';
import { type CallTelemetry, callTelemetry } from '../telemetry/calls.js';
import { answerClusterScrapes } from '../telemetry/cluster.js';
import { Metrics } from '../telemetry/metrics.js';
import { openTracer, type Tracer } from '../telemetry/tracing.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export type TelemetryConfig = Pick<Config, 'metricsPort' | 'accessLog' | 'otlpEndpoint' | 'otelServiceName'>;

export interface Telemetry {
  /** Absent with --metrics-port 0. */
  metrics?: Metrics;
  /** What adapters report each call to; absent when nothing would use it. */
  calls?: CallTelemetry;
  /** Exports the spans still buffered; stops answering the cluster primary. */
  close(): Promise<void>;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function openTelemetry(config: Partial<TelemetryConfig>, logger: Logger): Promise<Telemetry> {
  const metrics = config.metricsPort ? new Metrics({ processMetrics: true }) : undefined;
  // A worker's numbers reach the scrape through the primary, which sums them.
  const stopAnswering = metrics && cluster.isWorker ? answerClusterScrapes(metrics.registry) : undefined;
  const accessLog =
    config.accessLog && logger.isLevelEnabled('info') ? accessLogWriter(logger.child({ log: 'access' })) : undefined;
  let tracer: Tracer | undefined;
  if (config.otlpEndpoint) {
    tracer = await openTracer({
      endpoint: config.otlpEndpoint,
      serviceName: config.otelServiceName ?? 'twinapi',
      serviceVersion: VERSION,
    });
    logger.info({ endpoint: config.otlpEndpoint }, 'exporting spans (OTLP/HTTP)');
  }
  return {
    ...(metrics ? { metrics } : {}),
    ...(metrics || accessLog || tracer ? { calls: callTelemetry({ metrics, accessLog, tracer }) } : {}),
    async close() {
      stopAnswering?.();
      await tracer
        ?.shutdown()
        .catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
    },
  };
}

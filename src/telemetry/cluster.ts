// One scrape for all workers of `serve --workers N`: the primary asks each worker for its metrics
// over the cluster channel and sums them (gauges such as the feed's lag take the largest).
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Scrape } from './metrics-server.js';

interface MetricsMessage {
  twinapiMetrics: 'ready' | 'request' | 'response';
  id?: number;
  metrics?: unknown[];
  error?: string;
}
const isMetricsMessage = (message: unknown): message is MetricsMessage =>
  typeof message === 'object' && message !== null && 'twinapiMetrics' in message;

/** How long the primary waits for every worker's answer before the scrape fails. */
export const CLUSTER_SCRAPE_TIMEOUT_MS = 3000;

type MetricJson = { values?: { labels?: object; sharedLabels?: object }[] };

/**
 * prom-client's own histograms (the GC's) carry their labels in `sharedLabels`, which aggregation
 * ignores: it would add every label set's buckets together and drop the labels. Folded into
 * `labels`, each label set is summed on its own.
 */
function foldSharedLabels(metrics: unknown[]): unknown[] {
  return (metrics as MetricJson[]).map((metric) => ({
    ...metric,
    values: metric.values?.map(({ sharedLabels, ...value }) => ({
      ...value,
      labels: { ...sharedLabels, ...value.labels },
    })),
  }));
}

/** In a worker: answer the primary's requests with `registry`, and tell it that we can. Returns the stop. */
export function answerClusterScrapes(registry: Registry): () => void {
  const listener = (message: unknown) => {
    if (!isMetricsMessage(message) || message.twinapiMetrics !== 'request') return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ twinapiMetrics: 'response', id: message.id, metrics } satisfies MetricsMessage),
      (error: unknown) =>
        process.send?.({ twinapiMetrics: 'response', id: message.id, error: String(error) } satisfies MetricsMessage),
    );
  };
  process.on('message', listener);
  process.send?.({ twinapiMetrics: 'ready' } satisfies MetricsMessage);
  return () => process.off('message', listener);
}

/**
 * In the primary: a scrape of every worker that is serving metrics, summed. A worker still
 * starting is not asked (it has served nothing); one that does not answer fails the scrape,
 * because a sum with a worker missing would look like counters going backwards.
 */
export function clusterScrape(): () => Promise<Scrape> {
  const ready = new Set<Worker>();
  const pending = new Map<number, { answers: unknown[][]; waiting: Set<Worker>; settle: (error?: Error) => void }>();
  let nextId = 0;
  cluster.on('message', (worker, message) => {
    if (!isMetricsMessage(message)) return;
    if (message.twinapiMetrics === 'ready') ready.add(worker);
    if (message.twinapiMetrics !== 'response') return;
    const request = pending.get(message.id ?? -1);
    if (!request || !request.waiting.delete(worker)) return;
    if (message.error !== undefined) return request.settle(new Error(`worker ${worker.process.pid}: ${message.error}`));
    request.answers.push(message.metrics ?? []);
    if (request.waiting.size === 0) request.settle();
  });
  cluster.on('exit', (worker) => {
    ready.delete(worker);
    for (const request of pending.values()) {
      if (request.waiting.delete(worker) && request.waiting.size === 0) request.settle();
    }
  });
  return async () => {
    const id = nextId++;
    const workers = [...ready].filter((w) => w.isConnected());
    const answers: unknown[][] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new Error(`workers did not answer in ${CLUSTER_SCRAPE_TIMEOUT_MS} ms`)),
        CLUSTER_SCRAPE_TIMEOUT_MS,
      );
      const settle = (error?: Error) => {
        clearTimeout(timer);
        pending.delete(id);
        if (error) reject(error);
        else resolve();
      };
      pending.set(id, { answers, waiting: new Set(workers), settle });
      if (workers.length === 0) return settle();
      for (const worker of workers) worker.send({ twinapiMetrics: 'request', id } satisfies MetricsMessage);
    });
    const registry = AggregatorRegistry.aggregate(answers.map(foldSharedLabels));
    return { body: await registry.metrics(), contentType: registry.contentType };
  };
}

import { type BenchData, oursSettings } from '../fixtures.js';
import { type Pinning, splitCores } from '../pinning.js';
import type { Progress } from '../progress.js';
import { launchServer } from '../servers/launch.js';
import { measureTarget, SERVER_PLANS, type UnaryMeasurement, type UnaryResults, type UnarySettings } from './unary.js';

/** The unary scenario's settings, but one connection count and a worker count per point instead of one pinning. */
export interface ScalingSettings extends Omit<UnarySettings, 'only' | 'pinning' | 'concurrency'> {
  cores: number;
  /** Worker counts to measure, e.g. workerCounts(cores). */
  counts: number[];
  /** Connections of every run: enough to keep every worker busy. */
  connections: number;
}

export interface ScalingMeasurement extends UnaryMeasurement {
  workers: number;
  /** How the cores were split between the workers and the load generator for this count. */
  pinning: Pinning;
}

export interface ScalingResults {
  measurements: ScalingMeasurement[];
  failures: UnaryResults['failures'];
}

/** Our GetUser over gRPC and over REST (HTTP/1.1): the unary scenario's targets, served by N workers. */
const TARGETS = SERVER_PLANS[0]!.targets.filter((t) => t.endpoint === 'get');

/**
 * 1, 2, 4, … below the core count, then every core but one (one left for the load generator), then all;
 * `quick`: 1 and all.
 */
export function workerCounts(cores: number, quick = false): number[] {
  if (quick) return [...new Set([1, cores])];
  const counts = new Set<number>();
  for (let n = 1; n < cores; n *= 2) counts.add(n);
  counts.add(Math.max(1, cores - 1));
  counts.add(cores);
  return [...counts].sort((a, b) => a - b);
}

export function scalingSteps(settings: ScalingSettings): number {
  return settings.counts.length * TARGETS.length * settings.runs;
}

/** `twinapi serve --workers N` for each N: N workers pinned to N cores, the load generator on the others. */
export async function runScaling(
  data: BenchData,
  settings: ScalingSettings,
  progress: Progress,
): Promise<ScalingResults> {
  const results: ScalingResults = { measurements: [], failures: [] };
  for (const workers of settings.counts) {
    const pinning = splitCores(workers, settings.cores);
    const server = await launchServer('ours', oursSettings(data, { workers }), pinning.serverCores);
    const found: UnaryResults = { measurements: [], failures: [] };
    try {
      const unary = { ...settings, pinning, concurrency: [settings.connections] };
      for (const target of TARGETS)
        await measureTarget(target, server, data, unary, progress, found, `${workers} worker(s)`);
    } finally {
      await server.stop();
    }
    results.measurements.push(...found.measurements.map((m) => ({ ...m, workers, pinning })));
    results.failures.push(...found.failures);
  }
  return results;
}

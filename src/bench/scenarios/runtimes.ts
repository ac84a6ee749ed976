// Our server on each Node.js runtime, the lab's own first (`--node` names the others): GetUser and
// the 100-user list over REST and gRPC — every runtime's server at once on the server core, each
// call's targets loaded in turn, round by round, as the overhead scenario loads its servers — then
// the event fan-out (gRPC WatchUsers and SSE) on each runtime in turn.
import { type BenchData, oursSettings } from '../fixtures.js';
import type { DriverName } from '../load/drivers.js';
import type { LoadRunSettings } from '../load/spec.js';
import type { Progress } from '../progress.js';
import type { Runtime } from '../runtimes.js';
import { launchServer, type LaunchedServer } from '../servers/launch.js';
import { GRPC_DEFAULTS } from '../../grpc/server.js';
import {
  loadInTurns,
  OVERHEAD_TARGETS,
  type OverheadMeasurement,
  type OverheadTarget,
  overheadSpec,
  summarized,
} from './overhead.js';
import { fanOutOn, type FanOutMeasurement, onLaunched, type StreamingSettings } from './streaming.js';

/** What is compared across runtimes: our GetUser and 100-user list, over REST/1.1 and gRPC. */
export const RUNTIME_TARGETS: OverheadTarget[] = OVERHEAD_TARGETS.filter(
  (t) => t.group === 'ours' && (t.call === 'get' || t.call === 'list'),
);

export interface RuntimeMeasurement extends Omit<OverheadMeasurement, 'engine'> {
  /** The runtime's version (`v24.22.3`). */
  runtime: string;
}

export interface RuntimeFanOut extends FanOutMeasurement {
  runtime: string;
}

export interface RuntimesResults {
  /** In the order measured: the lab's own first. */
  runtimes: { version: string; abi: string }[];
  measurements: RuntimeMeasurement[];
  fanOut: RuntimeFanOut[];
  failures: { runtime: string; target: string; error: string }[];
}

export interface RuntimesSettings extends LoadRunSettings {
  runs: number;
  streaming: StreamingSettings;
}

/** Each runtime: its targets' rounds, then its fan-out (gRPC and SSE). */
export const runtimesSteps = (settings: RuntimesSettings, runtimes: number) =>
  runtimes * (RUNTIME_TARGETS.length * settings.runs + 2);

export async function runRuntimes(
  runtimes: Runtime[],
  data: BenchData,
  settings: RuntimesSettings,
  progress: Progress,
): Promise<RuntimesResults> {
  const results: RuntimesResults = {
    runtimes: runtimes.map(({ version, abi }) => ({ version, abi })),
    measurements: [],
    fanOut: [],
    failures: [],
  };
  const servers: { runtime: Runtime; server: LaunchedServer }[] = [];
  try {
    for (const runtime of runtimes) {
      const binding = runtime.sqliteNativeBinding ? { sqliteNativeBinding: runtime.sqliteNativeBinding } : {};
      const settingsOf = oursSettings(data, binding);
      servers.push({
        runtime,
        server: await launchServer('ours', settingsOf, settings.pinning.serverCores, runtime.execPath),
      });
    }
    const driver: DriverName = settings.driver;
    for (const call of ['get', 'list'] as const) {
      const loads = RUNTIME_TARGETS.filter((t) => t.call === call).flatMap((target) =>
        servers.map(({ runtime, server }) => ({
          subject: { runtime: runtime.version, target },
          label: `Node ${runtime.version} ${target.id}`,
          server,
          spec: { ...overheadSpec(target, server, data, settings), connections: settings.connections },
        })),
      );
      const measured = await loadInTurns(loads, settings, progress, ({ runtime, target }, error) =>
        results.failures.push({ runtime, target: target.id, error }),
      );
      for (const { subject, runs } of measured) {
        results.measurements.push({ ...subject, connections: settings.connections, driver, ...summarized(runs) });
      }
    }
    // Last: its events add users.
    for (const { runtime, server } of servers) {
      const on = ` on Node ${runtime.version}`;
      const { fanOut } = await onLaunched(server, GRPC_DEFAULTS.engine, data, (underTest) =>
        fanOutOn({ ...underTest, withRest: true, on }, data, settings.streaming, progress),
      );
      results.fanOut.push(...fanOut.map((m) => ({ ...m, runtime: runtime.version })));
    }
  } finally {
    await Promise.all(servers.map(({ server }) => server.stop()));
  }
  return results;
}

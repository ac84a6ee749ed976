// What a setting that ships on costs GetUser: our server as it ships against the same server with
// that one setting off. Both run at once on the server core and are loaded in alternation, run by
// run, so that the drift of the machine (a shared VM's stolen time, the CPU's clock) falls on both
// alike; the cost is read from the ratio of each pair of neighbouring runs, not from two medians
// taken minutes apart.
import { type BenchData, type OursSettings, oursSettings } from '../fixtures.js';
import { runLoad } from '../load/drivers.js';
import type { LoadResult } from '../load/spec.js';
import type { Pinning } from '../pinning.js';
import type { Progress } from '../progress.js';
import { launchServer, type LaunchedServer } from '../servers/launch.js';
import { type Spread, spread } from '../stats.js';
import { checkedTarget, loadSpecFor, SERVER_PLANS, type UnaryTarget } from './unary.js';
import type { DriverName } from '../load/drivers.js';

/**
 * The settings measured: each the lab's `ours` server changed by `on` (the lab keeps the access log
 * off elsewhere) against the same changed by `off`. The last is everything `serve` ships on at once
 * against none of it: what the target (≤ 10% together) is read from.
 */
export const COST_SETTINGS = [
  {
    setting: 'auth',
    what: 'access control: a bearer token verified on every call (once, then cached until it expires)',
    on: {},
    off: { auth: 'none' },
  },
  {
    setting: 'metrics',
    what: 'metrics: a duration histogram per call and per store operation (nothing scrapes during the runs)',
    on: {},
    off: { metrics: false },
  },
  {
    setting: 'access log',
    what: "access log: one JSON line per call (the lab sends the server's output to /dev/null: the line is built and written, no disk is waited for)",
    on: { accessLog: true },
    off: {},
  },
  {
    setting: 'all three',
    what: 'auth, metrics and the access log together, as `serve` ships them, against none of them',
    on: { accessLog: true },
    off: { auth: 'none', metrics: false },
  },
] as const satisfies readonly {
  setting: string;
  what: string;
  on: Partial<OursSettings>;
  off: Partial<OursSettings>;
}[];

/** GetUser over gRPC and over REST/1.1, as the unary scenario names them. */
const TARGETS: UnaryTarget[] = SERVER_PLANS[0]!.targets.filter((t) =>
  ['ours-grpc-get', 'ours-rest-h1-get'].includes(t.id),
);

export interface CostSettings {
  driver: DriverName;
  pinning: Pinning;
  connections: number;
  /** Pairs of runs (setting on, then off) per target. */
  pairs: number;
  durationS: number;
  warmupS: number;
}

export interface CostComparison {
  setting: (typeof COST_SETTINGS)[number]['setting'];
  what: string;
  target: UnaryTarget;
  connections: number;
  /** Successful req/s with the setting on (as shipped) and off. */
  on: Spread;
  off: Spread;
  /** on ÷ off of each pair of neighbouring runs: below 1 is what the setting costs. */
  ratio: Spread;
  failed: number;
}

export interface CostResults {
  comparisons: CostComparison[];
  failures: { setting: string; target: UnaryTarget; error: string }[];
}

export const costSteps = (settings: CostSettings) => COST_SETTINGS.length * TARGETS.length * settings.pairs;

export async function runCost(data: BenchData, settings: CostSettings, progress: Progress): Promise<CostResults> {
  const results: CostResults = { comparisons: [], failures: [] };
  for (const { setting, what, on, off } of COST_SETTINGS) {
    const cores = settings.pinning.serverCores;
    const servers: LaunchedServer[] = [];
    try {
      servers.push(await launchServer('ours', oursSettings(data, on), cores));
      servers.push(await launchServer('ours', oursSettings(data, { ...on, ...off }), cores));
      const [shipped, without] = servers as [LaunchedServer, LaunchedServer];
      for (const target of TARGETS) {
        const load = (server: LaunchedServer) => ({
          ...loadSpecFor(target, server, data, settings),
          connections: settings.connections,
        });
        const checks = await Promise.all([checkedTarget(load(shipped)), checkedTarget(load(without))]);
        const failure = checks.find((c): c is { error: string } => 'error' in c);
        if (failure) {
          results.failures.push({ setting, target, error: failure.error });
          for (let i = 0; i < settings.pairs; i++) progress.step(`${setting} ${target.id}: failed (${failure.error})`);
          continue;
        }
        const [onReply, offReply] = checks as [{ dataBytes: number }, { dataBytes: number }];
        const run = (server: LaunchedServer, okReplyBytes: number): Promise<LoadResult> =>
          runLoad(load(server), {
            driver: settings.driver,
            pinning: settings.pinning,
            serverPid: server.pid,
            okReplyBytes,
          });
        const ons: LoadResult[] = [];
        const offs: LoadResult[] = [];
        for (let pair = 1; pair <= settings.pairs; pair++) {
          progress.step(`${setting} on/off ${target.id} c=${settings.connections} pair ${pair}/${settings.pairs}`);
          ons.push(await run(shipped, onReply.dataBytes));
          offs.push(await run(without, offReply.dataBytes));
        }
        results.comparisons.push({
          setting,
          what,
          target,
          connections: settings.connections,
          on: spread(ons.map((r) => r.rps)),
          off: spread(offs.map((r) => r.rps)),
          ratio: spread(ons.map((r, i) => r.rps / offs[i]!.rps)),
          failed: [...ons, ...offs].reduce((n, r) => n + r.failed, 0),
        });
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
  return results;
}

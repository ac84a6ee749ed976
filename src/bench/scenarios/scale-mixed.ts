// GetUser under load, alone and beside one client that loops filtered lists (one request at a time,
// for the whole run): whether a slow read starves the fast one. The server's own metrics say what
// its event loop and connection pool went through in the same window.
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLoad } from '../load/drivers.js';
import { http1Call } from '../load/node-driver.js';
import { histogramBetween, type Sample, scrape, valueOf } from '../load/scrape.js';
import type { LoadResult, LoadRunSettings } from '../load/spec.js';
import type { Progress } from '../progress.js';
import type { LaunchedServer } from '../servers/launch.js';
import { type LatencySummary, type Spread, spread, summarizeLatencies } from '../stats.js';
import { SCALE_CALL_PLAN, type ScaleCallId } from './scale-calls.js';
import type { GrownTable } from './scale-data.js';
import { checkedTarget, loadSpecFor, SERVER_PLANS } from './unary.js';

/** GetUser over REST/1.1, exactly as the unary scenario loads it. */
const GET_USER = SERVER_PLANS[0]!.targets.find((t) => t.id === 'ours-rest-h1-get')!;

/**
 * What the looping client asks for, in turn, each a first page with its total: a hit, a miss, and a
 * two-character miss, which no trigram index serves (the store's gram index does; before it, a
 * caller typing one read the whole table).
 */
export const LOOPED_LISTS = [
  'filter-hit-total',
  'filter-miss',
  'filter-miss-short',
] as const satisfies readonly ScaleCallId[];

export interface MixedSettings extends LoadRunSettings {
  /** Pairs of runs (GetUser alone, GetUser beside the loop), in alternating order. */
  runs: number;
}

/**
 * prom-client samples the event loop with Node's monitorEventLoopDelay at this resolution (its
 * default), and that histogram records the whole time between two samples: an idle loop reads
 * 10 ms. The delay is what lies beyond it.
 */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/** What the server's metrics said about one measured window (scraped at its start and its end). */
export interface ServerWindow {
  /**
   * The event loop's delay (prom-client's nodejs_eventloop_lag_p99/max_seconds less the sampling
   * resolution). Every scrape resets that histogram (lib/metrics/eventLoopLag.js), so the scrape at
   * the window's end covers the window alone.
   */
  eventLoopDelayP99Ms?: number;
  eventLoopDelayMaxMs?: number;
  /** Store get_user operations in the window, and the bucket bound of their p99 (a pool wait included). */
  storeGetUsers?: number;
  storeGetUserP99AtMostMs?: number;
  /** The PostgreSQL pool at the window's end: connections in use, the most it opens, operations waiting for one. */
  pool?: { used: number; max: number; pending: number };
}

export interface LoopedLists {
  /** Lists completed inside the measured window, all kinds together and by kind. */
  completed: number;
  byCall: Record<(typeof LOOPED_LISTS)[number], number>;
  failed: number;
  latencyMs: LatencySummary;
  /**
   * The longest list that overlapped the window, timed in full, and which it was: a list slower than
   * the window itself never counts as completed, and this says how slow it was.
   */
  longest?: { call: (typeof LOOPED_LISTS)[number]; ms: number };
}

export interface MixedRun {
  beside: boolean;
  getUser: LoadResult;
  server: ServerWindow;
  lists?: LoopedLists;
}

export interface MixedLoad {
  connections: number;
  /** GetUser's successful req/s alone and beside the loop: median and spread over the runs. */
  alone: Spread;
  beside: Spread;
  /** beside ÷ alone of each pair of neighbouring runs. */
  ratio: Spread;
  /** Medians over the runs. */
  aloneP99Ms: number;
  besideP99Ms: number;
  eventLoopDelayP99Ms: { alone?: Spread; beside?: Spread };
  /** Filtered lists the loop completed per second of measured window (median over runs). */
  listsPerSecond: number;
  /** GetUser calls that failed, over every run. */
  failed: number;
  runs: MixedRun[];
}

export const mixedSteps = (settings: MixedSettings) => 2 * settings.runs;

export async function runMixed(
  server: LaunchedServer,
  table: GrownTable,
  token: string,
  settings: MixedSettings,
  progress: Pick<Progress, 'step'>,
  label: string,
): Promise<MixedLoad | { error: string }> {
  const spec = {
    ...loadSpecFor(
      GET_USER,
      server,
      { sampleUser: table.middleUser, listPageToken: table.middleToken, token },
      settings,
    ),
    connections: settings.connections,
  };
  const checked = await checkedTarget(spec);
  if ('error' in checked) {
    for (let i = 0; i < mixedSteps(settings); i++) progress.step(`${label}: GetUser failed (${checked.error})`);
    return { error: `GetUser: ${checked.error}` };
  }
  const context = { driver: settings.driver, pinning: settings.pinning, serverPid: server.pid };
  const run = async (beside: boolean): Promise<MixedRun> => {
    const started = performance.now();
    const window = {
      from: started + settings.warmupS * 1000,
      to: started + (settings.warmupS + settings.durationS) * 1000,
    };
    const loop = beside ? loopLists(server.ports.http!, token, table, window) : undefined;
    const observing = observe(server.ports.metrics, window);
    const getUser = await runLoad(spec, { ...context, okReplyBytes: checked.dataBytes });
    const lists = await loop?.stop();
    return { beside, getUser, server: await observing, ...(lists ? { lists } : {}) };
  };
  const runs: MixedRun[] = [];
  for (let pair = 1; pair <= settings.runs; pair++) {
    // Alternating which goes first spreads the machine's drift over both.
    for (const beside of pair % 2 === 1 ? [false, true] : [true, false]) {
      progress.step(`${label}: GetUser c=${settings.connections} ${beside ? 'beside the filter loop' : 'alone'}`);
      runs.push(await run(beside));
    }
  }
  const alone = runs.filter((r) => !r.beside);
  const beside = runs.filter((r) => r.beside);
  const eventLoop = (some: MixedRun[]) => {
    const known = some.flatMap((r) => r.server.eventLoopDelayP99Ms ?? []);
    return known.length ? spread(known) : undefined;
  };
  const [aloneLoop, besideLoop] = [eventLoop(alone), eventLoop(beside)];
  return {
    connections: settings.connections,
    alone: spread(alone.map((r) => r.getUser.rps)),
    beside: spread(beside.map((r) => r.getUser.rps)),
    ratio: spread(beside.map((r, i) => r.getUser.rps / alone[i]!.getUser.rps)),
    aloneP99Ms: spread(alone.map((r) => r.getUser.latencyMs.p99)).median,
    besideP99Ms: spread(beside.map((r) => r.getUser.latencyMs.p99)).median,
    eventLoopDelayP99Ms: { ...(aloneLoop ? { alone: aloneLoop } : {}), ...(besideLoop ? { beside: besideLoop } : {}) },
    listsPerSecond: spread(beside.map((r) => (r.lists?.completed ?? 0) / settings.durationS)).median,
    failed: runs.reduce((n, r) => n + r.getUser.failed, 0),
    runs,
  };
}

/**
 * One client asking for filtered lists one after another until stopped; only lists that start and
 * end inside the window count (as the load generator counts its requests).
 */
function loopLists(
  port: number,
  token: string,
  table: GrownTable,
  window: { from: number; to: number },
): { stop(): Promise<LoopedLists> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const spec = { protocol: 'http1' as const, headers: { authorization: `Bearer ${token}` } };
  const urls = LOOPED_LISTS.map((call) => new URL(`http://127.0.0.1:${port}${SCALE_CALL_PLAN[call].path(table)}`));
  const byCall = Object.fromEntries(LOOPED_LISTS.map((call) => [call, 0])) as LoopedLists['byCall'];
  const latencies: number[] = [];
  let failed = 0;
  let longest: LoopedLists['longest'];
  let running = true;
  const looping = (async () => {
    for (let i = 0; running; i = (i + 1) % LOOPED_LISTS.length) {
      const began = performance.now();
      const ok = await http1Call(agent, urls[i]!, spec).then(
        (reply) => reply.status === 200,
        () => false,
      );
      const ended = performance.now();
      const call = LOOPED_LISTS[i]!;
      if (ended > window.from && began < window.to && ended - began > (longest?.ms ?? 0))
        longest = { call, ms: ended - began };
      if (began < window.from || ended > window.to) continue;
      if (!ok) failed++;
      else {
        byCall[call]++;
        latencies.push(ended - began);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await looping;
      agent.destroy();
      return {
        completed: latencies.length,
        byCall,
        failed,
        latencyMs: summarizeLatencies(latencies),
        ...(longest ? { longest } : {}),
      };
    },
  };
}

/**
 * Scrapes the server's metrics at the window's start (which resets prom-client's event-loop
 * histogram) and just before its end (while the load still runs). The window is the load
 * generator's: h2load starts at once; the Node driver's process starts a little later.
 */
async function observe(port: number | undefined, window: { from: number; to: number }): Promise<ServerWindow> {
  if (port === undefined) return {};
  const at = (when: number) =>
    sleep(Math.max(0, when - performance.now())).then(
      () => scrape(port),
      () => undefined,
    );
  const margin = Math.min(100, (window.to - window.from) / 10);
  const [before, after] = await Promise.all([
    at(window.from).catch(() => undefined),
    at(window.to - margin).catch(() => undefined),
  ]);
  return before && after ? serverWindow(before, after) : {};
}

function serverWindow(before: Sample[], after: Sample[]): ServerWindow {
  const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);
  const delay = (seconds: number | undefined) =>
    seconds === undefined ? undefined : Math.max(0, seconds * 1000 - EVENT_LOOP_RESOLUTION_MS);
  const getUser = histogramBetween(
    before,
    after,
    'db_client_operation_duration_seconds',
    { db_operation_name: 'get_user' },
    99,
  );
  const pending = valueOf(after, 'db_client_connections_pending_requests');
  const window: ServerWindow = {
    eventLoopDelayP99Ms: delay(valueOf(after, 'nodejs_eventloop_lag_p99_seconds')),
    eventLoopDelayMaxMs: delay(valueOf(after, 'nodejs_eventloop_lag_max_seconds')),
    storeGetUsers: getUser.count,
    storeGetUserP99AtMostMs: ms(getUser.percentileAtMostS),
  };
  if (pending !== undefined)
    window.pool = {
      used: valueOf(after, 'db_client_connections_usage', { state: 'used' }) ?? 0,
      max: valueOf(after, 'db_client_connections_max') ?? 0,
      pending,
    };
  return window;
}

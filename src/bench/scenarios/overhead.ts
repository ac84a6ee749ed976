// What our own layers cost over hand-written code doing the same work, on each database the run
// names: GetUser and the 100-user list (reads), CreateUser and UpdateUser (writes, each with its
// change-log row), over REST/1.1 and gRPC, against Fastify, grpc-js and bare node:http2 servers
// written by hand (servers/same-work-*.ts). Ours runs as shipped: auth, metrics and the access log
// on. Every server of one database runs at once on the server core, and the targets of a call are
// loaded in turn, round by round, so that the machine's drift falls on all of them alike; a ratio
// is the median of the rounds' own ratios.
import type { DatabaseEngine } from '../databases.js';
import { type BenchData, oursSettings } from '../fixtures.js';
import { type DriverName, runLoad } from '../load/drivers.js';
import {
  GRPC_REQUEST_HEADERS,
  grpcFrame,
  type LoadResult,
  type LoadRunSettings,
  type LoadSpec,
  SEQUENCE_MARKER,
} from '../load/spec.js';
import type { Progress } from '../progress.js';
import { launchServer, type LaunchedServer, type ServerKind } from '../servers/launch.js';
import { type LatencySummary, type Spread, spread } from '../stats.js';
import { CreateUserRequest, UpdateUserRequest } from '../../gen/users/v1/users.js';
import { checkedTarget, loadSpecFor } from './unary.js';

export const OVERHEAD_CALLS = ['get', 'list', 'create', 'update'] as const;
export type OverheadCall = (typeof OVERHEAD_CALLS)[number];

export interface OverheadTarget {
  id: string;
  /** Which server answers it (SERVERS' key). */
  server: string;
  label: string;
  group: 'ours' | 'same-work';
  protocol: 'http1' | 'grpc';
  call: OverheadCall;
}

/** The servers, and the protocol each answers on. */
const SERVERS: { kind: ServerKind; key: string; label: string; protocols: OverheadTarget['protocol'][] }[] = [
  { kind: 'ours', key: 'ours', label: 'twinapi', protocols: ['http1', 'grpc'] },
  { kind: 'same-work-fastify', key: 'same-work-fastify', label: 'hand-written Fastify', protocols: ['http1'] },
  { kind: 'same-work-grpc-js', key: 'same-work-grpc-js', label: 'hand-written grpc-js', protocols: ['grpc'] },
  {
    kind: 'same-work-http2-grpc',
    key: 'same-work-http2-grpc',
    label: 'hand-written node:http2 gRPC',
    protocols: ['grpc'],
  },
];

const PROTOCOL_KEY = { http1: 'rest-h1', grpc: 'grpc' } as const;

/** `ours-rest-h1-get`, `same-work-grpc-js-create`…: one id per server, protocol and call. */
export const overheadTargetId = (server: string, protocol: OverheadTarget['protocol'], call: OverheadCall) =>
  server === 'ours' ? `ours-${PROTOCOL_KEY[protocol]}-${call}` : `${server}-${call}`;

export const OVERHEAD_TARGETS: OverheadTarget[] = OVERHEAD_CALLS.flatMap((call) =>
  SERVERS.flatMap(({ key, label, protocols }) =>
    protocols.map((protocol) => ({
      id: overheadTargetId(key, protocol, call),
      server: key,
      label: key === 'ours' ? `${label} ${protocol === 'grpc' ? 'gRPC' : 'REST (HTTP/1.1)'}` : label,
      group: key === 'ours' ? ('ours' as const) : ('same-work' as const),
      protocol,
      call,
    })),
  ),
);

/** The name every renamed user gets, and the one every create sends (numbered: each a new email). */
const RENAMED = 'Lab Renamed';
const CREATED = { name: 'Lab User', email: `lab.${SEQUENCE_MARKER}.user@example.com` };

/** One call's request to `target`, on `server`: reads as the unary scenario sends them; writes here. */
export function overheadSpec(
  target: OverheadTarget,
  server: LaunchedServer,
  data: BenchData,
  settings: { durationS: number; warmupS: number },
): LoadSpec {
  if (target.call === 'get' || target.call === 'list') {
    const endpoint = target.call;
    const unary = { ...target, endpoint, group: target.group === 'ours' ? ('ours' as const) : ('same-work' as const) };
    return loadSpecFor(unary, server, data, settings);
  }
  const grpc = target.protocol === 'grpc';
  const port = grpc ? server.ports.grpc : server.ports.http;
  const token: Record<string, string> = target.group === 'ours' ? { authorization: `Bearer ${data.token}` } : {};
  const common = { protocol: target.protocol, connections: 1, streams: 1, ...settings };
  if (target.call === 'create') {
    return {
      ...common,
      ...(grpc
        ? {
            url: `http://127.0.0.1:${port}/users.v1.UserService/CreateUser`,
            body: grpcFrame(CreateUserRequest.encode(CreateUserRequest.fromPartial(CREATED)).finish()),
            headers: { ...GRPC_REQUEST_HEADERS, ...token },
          }
        : {
            url: `http://127.0.0.1:${port}/users`,
            body: Buffer.from(JSON.stringify(CREATED)),
            headers: { 'content-type': 'application/json', ...token },
          }),
      // Each create names a new email: the built-in driver numbers them (h2load sends one body).
      sequence: { start: 0 },
    };
  }
  const { id } = data.renamedUser;
  return {
    ...common,
    ...(grpc
      ? {
          url: `http://127.0.0.1:${port}/users.v1.UserService/UpdateUser`,
          body: grpcFrame(
            UpdateUserRequest.encode(
              UpdateUserRequest.fromPartial({ user: { id, name: RENAMED }, updateMask: ['name'] }),
            ).finish(),
          ),
          headers: { ...GRPC_REQUEST_HEADERS, ...token },
        }
      : {
          url: `http://127.0.0.1:${port}/users/${id}`,
          method: 'PATCH' as const,
          body: Buffer.from(JSON.stringify({ name: RENAMED })),
          headers: { 'content-type': 'application/json', ...token },
        }),
  };
}

export interface OverheadSettings extends LoadRunSettings {
  runs: number;
}

export interface OverheadMeasurement {
  engine: DatabaseEngine;
  target: OverheadTarget;
  connections: number;
  driver: DriverName;
  rps: Spread;
  latencyMs: LatencySummary;
  /** Server CPU per successful call, µs (median over the rounds). */
  serverUsPerCall?: number;
  /** Req/s of each round, in order: the targets of one call were loaded in turn within a round. */
  rounds: number[];
  failed: number;
}

export interface OverheadResults {
  engines: DatabaseEngine[];
  measurements: OverheadMeasurement[];
  failures: { engine: DatabaseEngine; target: OverheadTarget; error: string }[];
}

export const overheadSteps = (settings: OverheadSettings, engines: number) =>
  engines * OVERHEAD_TARGETS.length * settings.runs;

/** A database to measure on: its engine and the data seeded into it. */
export interface OverheadDataset {
  engine: DatabaseEngine;
  data: BenchData;
}

export async function runOverhead(
  datasets: OverheadDataset[],
  settings: OverheadSettings,
  progress: Progress,
): Promise<OverheadResults> {
  const results: OverheadResults = { engines: datasets.map((d) => d.engine), measurements: [], failures: [] };
  for (const { engine, data } of datasets) {
    const servers = new Map<string, LaunchedServer>();
    try {
      for (const { kind, key } of SERVERS) {
        const shipped = kind === 'ours' ? oursSettings(data, { accessLog: true }) : { db: data.db };
        servers.set(key, await launchServer(kind, shipped, settings.pinning.serverCores));
      }
      // Reads first: the writes add users and rename one (neither is a user the reads ask for).
      for (const call of OVERHEAD_CALLS) {
        await measureCall(call, engine, data, servers, settings, progress, results);
      }
    } finally {
      await Promise.all([...servers.values()].map((server) => server.stop()));
    }
  }
  return results;
}

async function measureCall(
  call: OverheadCall,
  engine: DatabaseEngine,
  data: BenchData,
  servers: Map<string, LaunchedServer>,
  settings: OverheadSettings,
  progress: Progress,
  results: OverheadResults,
): Promise<void> {
  const driver: DriverName = call === 'create' ? 'node' : settings.driver;
  let numbered = 0;
  const loads = OVERHEAD_TARGETS.filter((t) => t.call === call).map((target) => {
    const server = servers.get(target.server)!;
    const spec = { ...overheadSpec(target, server, data, settings), connections: settings.connections };
    // Every create of the run a number of its own: each target's probe and rounds a range apart.
    if (spec.sequence) spec.sequence = { start: ++numbered * 100_000_000 };
    return { subject: target, label: `${engine} ${target.id}`, server, spec };
  });
  const measured = await loadInTurns(loads, { ...settings, driver }, progress, (target, error) =>
    results.failures.push({ engine, target, error }),
  );
  for (const { subject: target, runs } of measured) {
    results.measurements.push({ engine, target, connections: settings.connections, driver, ...summarized(runs) });
  }
}

/** One load of several measured in turn: what it measures, the server it loads and its requests. */
export interface TurnLoad<T> {
  subject: T;
  /** How progress names it. */
  label: string;
  server: LaunchedServer;
  spec: LoadSpec;
}

/**
 * Checks each load's target once (a failing one is reported to `failed` and left out), then runs
 * the loads in turn, round by round, so that the machine's drift falls on all of them alike.
 */
export async function loadInTurns<T>(
  loads: TurnLoad<T>[],
  settings: Pick<OverheadSettings, 'runs' | 'driver' | 'pinning' | 'connections'>,
  progress: Progress,
  failed: (subject: T, error: string) => void,
): Promise<{ subject: T; runs: LoadResult[] }[]> {
  const checked: (TurnLoad<T> & { okReplyBytes: number; runs: LoadResult[] })[] = [];
  for (const load of loads) {
    const check = await checkedTarget(load.spec);
    if ('error' in check) {
      failed(load.subject, check.error);
      for (let i = 0; i < settings.runs; i++) progress.step(`${load.label}: failed (${check.error})`);
      continue;
    }
    checked.push({ ...load, okReplyBytes: check.dataBytes, runs: [] });
  }
  for (let round = 1; round <= settings.runs; round++) {
    for (const load of checked) {
      const { spec, server, okReplyBytes } = load;
      progress.step(`${load.label} c=${settings.connections} round ${round}/${settings.runs}`);
      const start = spec.sequence ? { sequence: { start: spec.sequence.start + round * 1_000_000 } } : {};
      load.runs.push(
        await runLoad(
          { ...spec, ...start },
          { driver: settings.driver, pinning: settings.pinning, serverPid: server.pid, okReplyBytes },
        ),
      );
    }
  }
  return checked.map(({ subject, runs }) => ({ subject, runs }));
}

/** The rounds of one load: req/s median and spread, latency percentiles, server CPU per call. */
export function summarized(
  runs: LoadResult[],
): Pick<OverheadMeasurement, 'rps' | 'latencyMs' | 'serverUsPerCall' | 'rounds' | 'failed'> {
  return {
    rps: spread(runs.map((r) => r.rps)),
    latencyMs: {
      p50: spread(runs.map((r) => r.latencyMs.p50)).median,
      p90: spread(runs.map((r) => r.latencyMs.p90)).median,
      p99: spread(runs.map((r) => r.latencyMs.p99)).median,
      max: Math.max(...runs.map((r) => r.latencyMs.max)),
    },
    ...usPerCall(runs),
    rounds: runs.map((r) => r.rps),
    failed: runs.reduce((n, r) => n + r.failed, 0),
  };
}

/** Server CPU per successful call, µs: the median over rounds that measured it. */
function usPerCall(runs: LoadResult[]): { serverUsPerCall?: number } {
  const values = runs.filter((r) => r.serverCpu !== undefined && r.rps > 0).map((r) => (r.serverCpu! * 1e6) / r.rps);
  return values.length ? { serverUsPerCall: spread(values).median } : {};
}

/**
 * `a`'s req/s over `b`'s, round by round (they were loaded in turn within each round): the median
 * and spread of those ratios; undefined unless both were measured in every round.
 */
export function roundRatio(
  a: Pick<OverheadMeasurement, 'rounds'>,
  b: Pick<OverheadMeasurement, 'rounds'>,
): Spread | undefined {
  if (a.rounds.length === 0 || a.rounds.length !== b.rounds.length) return undefined;
  return spread(a.rounds.map((rps, i) => rps / b.rounds[i]!));
}

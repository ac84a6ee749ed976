// The cost ledger: µs of server CPU per call, layer by layer, for GetUser over each protocol and
// UpdateUser over REST and gRPC, so that every later change can be judged against it. Each call is
// loaded twice on our server as shipped (auth, metrics, access log on): once unprofiled, for its
// server CPU per call; once under the CPU profiler (node:inspector, started and stopped by the lab
// around the measured window only), for each layer's share of the server thread's busy samples. A
// layer's µs is its share times the call's CPU. Layers are known by the file a sample's function
// is in; what runs in no JavaScript file (a native call, the collector) is named by its kind.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchData, oursSettings } from '../fixtures.js';
import { runLoad } from '../load/drivers.js';
import type { LoadRunSettings, LoadSpec } from '../load/spec.js';
import type { Progress } from '../progress.js';
import { launchServer } from '../servers/launch.js';
import { overheadSpec, OVERHEAD_TARGETS } from './overhead.js';
import { checkedTarget, loadSpecFor, SERVER_PLANS } from './unary.js';

/** The layers, first match wins; `test` sees a sample's function name and its file's URL. */
export const LEDGER_LAYERS: { layer: string; what: string; test: (name: string, url: string) => boolean }[] = [
  {
    layer: 'admission',
    what: 'bearer token (cached), rate limit, load shedding (src/access, the adapters’ admit)',
    test: (_, url) => /\/(src|dist)\/access\/|\/app\/load-shedder\./.test(url),
  },
  {
    layer: 'telemetry',
    what: 'metrics, the access log, request ids, trace context (src/telemetry, the adapters’ hooks, pino)',
    test: (_, url) =>
      /\/(src|dist)\/telemetry\/|\/rest\/telemetry\.|\/grpc\/telemetry\.|\/app\/log-lines\.|\/node_modules\/(pino|sonic-boom)\//.test(
        url,
      ),
  },
  {
    layer: 'domain',
    what: 'the use case, its rules and checks (src/domain)',
    test: (_, url) => /\/(src|dist)\/domain\//.test(url),
  },
  {
    layer: 'store',
    what: 'our store: statements, rows to users, the change feed (src/store, src/events, Kysely)',
    test: (_, url) => /\/(src|dist)\/(store|events)\/|\/node_modules\/kysely\//.test(url),
  },
  {
    layer: 'database driver',
    what: 'better-sqlite3 (SQLite runs in it) or node-pg',
    test: (name, url) =>
      /\/node_modules\/(better-sqlite3|pg|pg-protocol|pg-pool)\//.test(url) ||
      (url === '' && ['get', 'all', 'run', 'iterate'].includes(name)),
  },
  {
    layer: 'REST adapter',
    what: 'routes, representations (JSON, ETag, negotiation), errors (src/rest)',
    test: (_, url) => /\/(src|dist)\/rest\//.test(url),
  },
  {
    layer: 'gRPC adapter and engine',
    what: 'handlers, the node:http2 engine, statuses (src/grpc), grpc-js Metadata',
    test: (_, url) => /\/(src|dist)\/grpc\/|\/node_modules\/@grpc\//.test(url),
  },
  {
    layer: 'Connect adapter',
    what: 'the ConnectRPC router and its Node adapter (src/connect, @connectrpc, @bufbuild)',
    test: (_, url) => /\/(src|dist)\/connect\/|\/node_modules\/(@connectrpc|@bufbuild)\//.test(url),
  },
  {
    layer: 'conversions and codecs',
    what: 'domain ⇄ contract (src/contract), protobuf codecs (src/gen, protobufjs), fast-json-stringify',
    test: (_, url) =>
      /\/(src|dist)\/(contract|gen)\/|\/node_modules\/(protobufjs|@protobufjs|fast-json-stringify)\//.test(url),
  },
  {
    layer: 'Fastify',
    what: 'routing, hooks, request and reply (fastify, find-my-way)',
    test: (_, url) =>
      /\/node_modules\/(fastify|find-my-way|@fastify|avvio|fast-querystring|secure-json-parse)\//.test(url),
  },
  {
    layer: 'Node HTTP/2',
    what: 'node:http2 (nghttp2 frames, headers, streams)',
    test: (_, url) => url.startsWith('node:internal/http2'),
  },
  {
    layer: 'Node HTTP/1.1, streams, events',
    what: 'node:http, net, streams, events, timers, the microtask and tick queues',
    test: (name, url) => url.startsWith('node:') || name === 'runMicrotasks',
  },
  {
    layer: 'socket writes',
    what: 'writev and write (the system calls, kernel included)',
    test: (name, url) =>
      url === '' && /^(writev|writeBuffer|writeString|writeUtf8String|writeLatin1String)$/.test(name),
  },
  {
    layer: 'garbage collection',
    what: 'V8’s collector on the server thread',
    test: (name) => name === '(garbage collector)',
  },
  {
    layer: 'other',
    what: 'V8 and native code outside JavaScript ((program)), and the rest',
    test: () => true,
  },
];

/** The calls the ledger prices: our unary targets' GetUser, and the overhead scenario's UpdateUser. */
const COLUMNS = [
  { key: 'rest-get', label: 'REST GetUser', target: 'ours-rest-h1-get' },
  { key: 'grpc-get', label: 'gRPC GetUser', target: 'ours-grpc-get' },
  { key: 'connect-get', label: 'Connect GetUser', target: 'ours-connect-binary-get' },
  { key: 'rest-update', label: 'REST UpdateUser', target: 'ours-rest-h1-update' },
  { key: 'grpc-update', label: 'gRPC UpdateUser', target: 'ours-grpc-update' },
] as const;

export interface LedgerColumn {
  key: string;
  label: string;
  /** Server CPU per successful call, unprofiled, µs. */
  usPerCall: number;
  /** The profiled run's busy samples (idle excluded): how fine the shares are. */
  samples: number;
}

export interface LedgerResults {
  columns: LedgerColumn[];
  /** µs per call of each layer, by column key (layers that cost nothing anywhere are left out). */
  layers: { layer: string; what: string; us: Record<string, number> }[];
  failures: { column: string; error: string }[];
}

export interface LedgerSettings extends LoadRunSettings {
  /** Where the profiles are written, then read (and removed). */
  dir: string;
}

export const ledgerSteps = () => COLUMNS.length * 2;

/** Busy samples by layer of a .cpuprofile (idle excluded). */
export function layerSamples(profile: {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
}): Map<string, number> {
  const layerOf = new Map<number, string | undefined>();
  for (const { id, callFrame } of profile.nodes) {
    const { functionName: name, url } = callFrame;
    layerOf.set(id, name === '(idle)' ? undefined : LEDGER_LAYERS.find((l) => l.test(name, url))!.layer);
  }
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const layer = layerOf.get(id);
    if (layer !== undefined) counts.set(layer, (counts.get(layer) ?? 0) + 1);
  }
  return counts;
}

export async function runLedger(data: BenchData, settings: LedgerSettings, progress: Progress): Promise<LedgerResults> {
  const results: LedgerResults = { columns: [], layers: [], failures: [] };
  const server = await launchServer('ours', oursSettings(data, { accessLog: true }), settings.pinning.serverCores);
  const shares = new Map<string, Map<string, number>>();
  try {
    for (const column of COLUMNS) {
      const spec = { ...specOf(column.target, server, data, settings), connections: settings.connections };
      const checked = await checkedTarget(spec);
      if ('error' in checked) {
        results.failures.push({ column: column.label, error: checked.error });
        progress.step(`ledger ${column.label}: failed (${checked.error})`);
        progress.step(`ledger ${column.label}: failed`);
        continue;
      }
      const context = { driver: settings.driver, pinning: settings.pinning, serverPid: server.pid };
      const load = (s: LoadSpec) => runLoad(s, { ...context, okReplyBytes: checked.dataBytes });
      progress.step(`ledger ${column.label}: server CPU per call`);
      const plain = await load(spec);
      progress.step(`ledger ${column.label}: profiled`);
      const file = join(settings.dir, `ledger-${column.key}.cpuprofile`);
      // The profile covers the measured window alone: its warm-up runs first, unprofiled.
      await load({ ...spec, durationS: settings.warmupS, warmupS: 0 });
      await server.ask({ type: 'profile-start' }, 'profile-started');
      await load({ ...spec, warmupS: 0 });
      await server.ask({ type: 'profile-stop', file }, 'profile-stopped');
      const counts = layerSamples(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof layerSamples>[0]);
      rmSync(file, { force: true });
      const samples = [...counts.values()].reduce((a, b) => a + b, 0);
      const usPerCall = plain.serverCpu !== undefined && plain.rps > 0 ? (plain.serverCpu * 1e6) / plain.rps : NaN;
      results.columns.push({ key: column.key, label: column.label, usPerCall, samples });
      shares.set(column.key, new Map([...counts].map(([layer, n]) => [layer, (n / samples) * usPerCall])));
    }
  } finally {
    await server.stop();
  }
  for (const { layer, what } of LEDGER_LAYERS) {
    const us = Object.fromEntries(results.columns.map((c) => [c.key, shares.get(c.key)?.get(layer) ?? 0]));
    if (Object.values(us).some((v) => v > 0)) results.layers.push({ layer, what, us });
  }
  return results;
}

/** A column's load: a unary target's, or an overhead target's (the writes). */
function specOf(
  id: string,
  server: Awaited<ReturnType<typeof launchServer>>,
  data: BenchData,
  settings: { durationS: number; warmupS: number },
): LoadSpec {
  const unary = SERVER_PLANS[0]!.targets.find((t) => t.id === id);
  if (unary) return loadSpecFor(unary, server, data, settings);
  return overheadSpec(
    OVERHEAD_TARGETS.find((t) => t.id === id)!,
    server,
    data,
    settings,
  );
}

import type { BenchResults } from '../results.js';
import { COST_SETTINGS } from '../scenarios/cost.js';
import { decisionGuide } from './guide.js';
import { findings, targetChecks, unaryAt } from './findings.js';
import { cpuPerCall, f, n0 } from './format.js';
import { ledgerSection, overheadSection } from './overhead.js';
import { runtimesSection } from './runtimes.js';
import { scaleSections } from './scale.js';

/** A chart's series by category, drawn as horizontal bars in the HTML report. */
export interface Chart {
  unit: string;
  categories: string[];
  series: { name: string; values: (number | undefined)[] }[];
}

/** Lines of values against a quantity that grows by orders of magnitude (table size): log axes in the HTML report. */
export interface LinePlot {
  xLabel: string;
  yLabel: string;
  series: { name: string; points: { x: number; y: number }[] }[];
}

export interface Section {
  title: string;
  paragraphs: string[];
  table?: { head: string[]; rows: string[][] };
  chart?: Chart;
  plot?: LinePlot;
  list?: string[];
}

function overview(r: BenchResults): Section {
  const o = r.options;
  return {
    title: 'Setup',
    paragraphs: [
      `Machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.os}; ` +
        `load average at start ${r.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}.`,
      `Pinning: ${r.pinning.note}. ` +
        `Load generator: ${r.loadGenerator.driver} ${r.loadGenerator.version} — ${r.loadGenerator.note}.`,
      `Settings: ${o.users} seeded users on ${o.databases[0] === 'sqlite' ? 'SQLite' : `PostgreSQL (${o.databases[0]})`}; ${o.runs} run(s) of ${o.durationS} s ` +
        `after ${o.warmupS} s warm-up per point; ` +
        `connections ${o.concurrency.join(', ')} × ${o.streams} stream(s) each for HTTP/2 and gRPC ` +
        `(HTTP/1.1 is never pipelined)${o.quick ? '; --quick (a smoke run: too short to quote)' : ''}.`,
      'Every load point counts only successful calls: HTTP 2xx, and for gRPC grpc-status 0 ' +
        '(each target is first called once and checked; ' +
        "under h2load, OK calls are the DATA bytes over one OK reply's bytes, since a failed call here sends none). " +
        'Latency percentiles come from every request (h2load --log-file), not a mean.',
      `Versions: ${Object.entries(r.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
      `Reproduce: \`twinapi bench${o.quick ? ' --quick' : ''} --scenario ${o.scenarios.join(',')} ` +
        `--duration ${o.durationS} --concurrency ${o.concurrency.join(',')} --runs ${o.runs} --users ${o.users}` +
        `${o.scenarios.includes('scale') ? ` --sizes ${o.sizes.join(',')}` : ''}` +
        `${o.scenarios.includes('runtimes') ? ` --node ${o.node.join(',')}` : ''}` +
        `${o.databases.join(',') === 'sqlite' ? '' : ` --db ${o.databases.join(',')}`}\`.`,
    ],
  };
}

function targetsSection(r: BenchResults): Section {
  return {
    title: 'Targets',
    paragraphs: [
      'Ratios of successful requests/s measured in this run, at the highest concurrency; ' +
        "the scale scenario's, at the largest table it measured on each engine.",
    ],
    table: {
      head: ['target', 'required', 'measured', 'met', 'numbers'],
      rows: targetChecks(r).map((t) => [
        t.target,
        t.unit === 'ms' ? `≤ ${f(t.required, 0)} ms` : `${t.required.toFixed(2)}×`,
        t.unit === 'ms' ? `${f(t.measured)} ms` : `${f(t.measured)}×`,
        t.met === undefined ? '—' : t.met ? 'yes' : 'no',
        t.detail,
      ]),
    },
  };
}

function claimsSection(r: BenchResults): Section {
  return {
    title: 'Claims of the original design vs measured here',
    paragraphs: [],
    table: { head: ['claim', 'measured', 'verdict'], rows: findings(r).map((c) => [c.claim, c.measured, c.verdict]) },
  };
}

function serializationSection(r: BenchResults): Section | undefined {
  if (!r.serialization) return undefined;
  const rows = r.serialization.map((m) => [
    m.label,
    m.payload === 'one' ? '1 user' : `${r.payload?.find((p) => p.payload === 'many')?.users ?? 100} users`,
    m.direction,
    f(m.microsPerOp.median),
    `${f(m.microsPerOp.min)}–${f(m.microsPerOp.max)}`,
    n0(m.opsPerSecond),
  ]);
  const codecs = [...new Set(r.serialization.map((m) => m.label))];
  const cases = [
    ['one', 'encode'],
    ['one', 'decode'],
  ] as const;
  return {
    title: 'Serialization (in-process, warm)',
    paragraphs: [
      'All codecs start from the same domain users. ' +
        'JSON decode is JSON.parse alone (no conversion back to Dates), which flatters JSON slightly.',
    ],
    table: { head: ['codec', 'payload', 'op', 'µs/op (median)', 'spread', 'ops/s'], rows },
    chart: {
      unit: 'µs per user',
      categories: codecs,
      series: cases.map(([payload, direction]) => ({
        name: `${direction}`,
        values: codecs.map(
          (label) =>
            r.serialization!.find((m) => m.label === label && m.payload === payload && m.direction === direction)
              ?.microsPerOp.median,
        ),
      })),
    },
  };
}

function payloadSection(r: BenchResults): Section | undefined {
  if (!r.payload) return undefined;
  const many = r.payload.filter((p) => p.payload === 'many');
  return {
    title: 'Payload size',
    paragraphs: [],
    table: {
      head: ['codec', 'users', 'bytes', 'gzip bytes'],
      rows: r.payload.map((p) => [p.codec, String(p.users), n0(p.bytes), n0(p.gzipBytes)]),
    },
    chart: {
      unit: `bytes for ${many[0]?.users ?? 100} users`,
      categories: many.map((p) => p.codec),
      series: [
        { name: 'raw', values: many.map((p) => p.bytes) },
        { name: 'gzip', values: many.map((p) => p.gzipBytes) },
      ],
    },
  };
}

function unarySection(r: BenchResults, endpoint: 'get' | 'list'): Section | undefined {
  const ms = r.unary?.measurements.filter((m) => m.target.endpoint === endpoint);
  if (!ms?.length) return undefined;
  const targets = [...new Set(ms.map((m) => m.target.label))];
  const levels = [...new Set(ms.map((m) => m.connections))].sort((a, b) => a - b);
  const top = levels[levels.length - 1];
  const failures = r.unary!.failures.filter((fl) => fl.target.endpoint === endpoint);
  return {
    title:
      endpoint === 'get'
        ? 'Unary load: GetUser / GET /users/:id'
        : 'Unary load: a 100-user list (ListUsers stream / GET /users?limit=100)',
    paragraphs: [
      'req/s is the median of the runs with their spread; ' +
        'latency percentiles are medians over the runs, max is the worst seen. ' +
        'CPU is in cores (1.00 = one core flat out); server µs/call is the server CPU each successful call ' +
        'cost, the figure that carries from machine to machine and says how many cores a load needs; ' +
        'a saturated load generator makes that row a floor, not a measurement of the server.',
      ...failures.map((fl) => `${fl.target.label} was not measured: its first call failed (${fl.error}).`),
    ],
    table: {
      head: [
        'target',
        'conn×streams',
        'req/s',
        'spread',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'server CPU',
        'server µs/call',
        'client CPU',
        'failed',
      ],
      rows: ms.map((m) => [
        m.target.label,
        `${m.connections}×${m.streams}`,
        n0(m.rps.median),
        `${n0(m.rps.min)}–${n0(m.rps.max)}`,
        f(m.latencyMs.p50),
        f(m.latencyMs.p90),
        f(m.latencyMs.p99),
        f(m.latencyMs.max),
        f(m.serverCpu),
        f(cpuPerCall(m), 0),
        `${f(m.clientCpu)}${m.clientSaturated ? ' SATURATED' : ''}`,
        String(m.failed),
      ]),
    },
    chart: {
      unit: `successful req/s (and p99 at ${top} connections in the table)`,
      categories: targets,
      series: levels.map((c) => ({
        name: `${c} conn`,
        values: targets.map((t) => ms.find((m) => m.target.label === t && m.connections === c)?.rps.median),
      })),
    },
  };
}

function latencySection(r: BenchResults): Section | undefined {
  const ms = r.unary?.measurements.filter((m) => m.target.endpoint === 'get');
  if (!ms?.length) return undefined;
  const top = Math.max(...ms.map((m) => m.connections));
  const at = ms.filter((m) => m.connections === top);
  return {
    title: `Latency percentiles, GetUser at ${top} connections`,
    paragraphs: [],
    chart: {
      unit: 'ms',
      categories: at.map((m) => m.target.label),
      series: (['p50', 'p90', 'p99'] as const).map((p) => ({ name: p, values: at.map((m) => m.latencyMs[p]) })),
    },
  };
}

/** The ways to call our one service, side by side at the top concurrency, relative to REST/1.1. */
const WAYS = ['grpc', 'rest-h1', 'connect-json', 'connect-binary', 'grpc-web', 'graphql', 'trpc'] as const;
const CALLS = { get: 'GetUser', list: '100-user list', 'get-slim': 'GetUser, id and name only' } as const;

function waysSection(r: BenchResults): Section | undefined {
  const at = (key: string, endpoint: keyof typeof CALLS) => unaryAt(r, `ours-${key}-${endpoint}`);
  const rows = (Object.keys(CALLS) as (keyof typeof CALLS)[]).flatMap((endpoint) =>
    WAYS.flatMap((key) => {
      const m = at(key, endpoint);
      const rest = at('rest-h1', endpoint);
      if (!m) return [];
      return [
        [
          m.target.label,
          CALLS[endpoint],
          String(m.connections),
          n0(m.rps.median),
          `${n0(m.rps.min)}–${n0(m.rps.max)}`,
          f(m.latencyMs.p50),
          f(m.latencyMs.p99),
          f(cpuPerCall(m), 0),
          m.replyBytes === undefined ? '—' : n0(m.replyBytes),
          rest ? `${f(m.rps.median / rest.rps.median)}×` : '—',
          String(m.failed),
        ],
      ];
    }),
  );
  if (rows.length === 0) return undefined;
  return {
    title: 'Ways to call the same service',
    paragraphs: [
      'One server process answers them all: gRPC on its port; REST, Connect (JSON and binary), gRPC-Web, GraphQL ' +
        'and tRPC over HTTP/1.1 on the REST port, as a browser would call them (HTTP/1.1 is never pipelined: one ' +
        'call in flight per connection). The 100-user list is one ListUsers server stream on the RPC protocols, one ' +
        'cursor page on REST and tRPC, one `users(first: 100)` connection on GraphQL. gRPC-Web and GraphQL can say ' +
        'a failure in a 200 reply: a run counts their calls OK only when the bytes received are exactly OK replies. ' +
        '"reply bytes" is one OK reply\'s body, uncompressed; the slim GetUser asks for two fields, by GraphQL\'s ' +
        "selection or REST's `?fields=id,name`.",
    ],
    table: {
      head: [
        'way',
        'call',
        'connections',
        'req/s',
        'spread',
        'p50 ms',
        'p99 ms',
        'server µs/call',
        'reply bytes',
        '× REST/1.1',
        'failed',
      ],
      rows,
    },
  };
}

/** What each setting that ships on costs GetUser, from pairs of neighbouring runs on and off. */
function costSection(r: BenchResults): Section | undefined {
  const cost = r.cost;
  if (!cost || cost.comparisons.length + cost.failures.length === 0) return undefined;
  const pct = (ratio: number) => `${f((1 - ratio) * 100, 1)}%`;
  const rows = cost.comparisons.map((c) => [
    c.setting,
    c.target.label,
    String(c.connections),
    `${n0(c.off.median)} (${n0(c.off.min)}–${n0(c.off.max)})`,
    `${n0(c.on.median)} (${n0(c.on.min)}–${n0(c.on.max)})`,
    `${pct(c.ratio.median)} (${pct(c.ratio.max)} to ${pct(c.ratio.min)})`,
  ]);
  for (const failure of cost.failures)
    rows.push([failure.setting, failure.target.label, '', 'failed', failure.error, '']);
  return {
    title: 'What auth, metrics and the access log cost GetUser',
    paragraphs: [
      'Our server with a setting on against the same server with it off, both running at once on the ' +
        'server core, loaded in alternation (on, off, on, off…) with the same requests. The cost is the median ' +
        'over the pairs of 1 − on/off of neighbouring runs, with the range over the pairs: a range that ' +
        "spans 0 means this machine's noise is larger than the cost.",
      ...COST_SETTINGS.map((s) => `${s.setting}: ${s.what}.`),
    ],
    table: { head: ['setting', 'protocol', 'connections', 'off req/s', 'on req/s', 'cost (range)'], rows },
  };
}

function streamingSection(r: BenchResults): Section | undefined {
  const s = r.streaming;
  if (!s) return undefined;
  return {
    title: 'Streaming',
    paragraphs: [
      'List-all: every seeded user, as one ListUsers server stream vs REST cursor pages. ' +
        'Fan-out: N subscribers attached, then the events are committed in batches of 100; ' +
        "delivery latency is from the user's updatedAt (commit, ms resolution) to arrival.",
    ],
    table: {
      head: ['measurement', 'protocol', 'result', 'detail'],
      rows: [
        ...s.listAll.map((l) => [
          'list all users',
          l.label,
          `${f(l.ms.median, 0)} ms (${f(l.ms.min, 0)}–${f(l.ms.max, 0)})`,
          `${n0(l.usersPerSecond)} users/s, ${n0(l.users)} users`,
        ]),
        ...s.fanOut.map((o) => [
          `fan-out to ${o.subscribers}`,
          o.label,
          `${n0(o.deliveredPerSecond)} events/s`,
          `latency p50 ${o.latencyMs.p50} / p99 ${o.latencyMs.p99} / max ${o.latencyMs.max} ms; ` +
            `${o.missing} missing of ${o.subscribers * o.events}`,
        ]),
      ],
    },
  };
}

function scalingSection(r: BenchResults): Section | undefined {
  const s = r.scaling;
  if (!s?.measurements.length) return undefined;
  const counts = [...new Set(s.measurements.map((m) => m.workers))];
  const targets = [...new Set(s.measurements.map((m) => m.target.label))];
  return {
    title: 'Scaling: `serve --workers N`',
    paragraphs: [
      'GetUser against N worker processes (node cluster, one database file), ' +
        'N cores for the server and the rest for the load generator. ' +
        'When N is every core, nothing is pinned and the load generator competes with the workers: ' +
        'that row is what such a machine gives with nothing left over, not a clean measurement. ' +
        'Server CPU sums the primary and its workers.',
      ...s.failures.map((fl) => `${fl.target.label} was not measured: its first call failed (${fl.error}).`),
    ],
    table: {
      head: [
        'workers',
        'target',
        'conn×streams',
        'req/s',
        'spread',
        'vs 1 worker',
        'p50 ms',
        'p99 ms',
        'server CPU',
        'client CPU',
        'cores',
      ],
      rows: s.measurements.map((m) => {
        const one = s.measurements.find((o) => o.workers === 1 && o.target.id === m.target.id);
        return [
          String(m.workers),
          m.target.label,
          `${m.connections}×${m.streams}`,
          n0(m.rps.median),
          `${n0(m.rps.min)}–${n0(m.rps.max)}`,
          one ? `${f(m.rps.median / one.rps.median)}×` : '—',
          f(m.latencyMs.p50),
          f(m.latencyMs.p99),
          f(m.serverCpu),
          `${f(m.clientCpu)}${m.clientSaturated ? ' SATURATED' : ''}`,
          m.pinning.note,
        ];
      }),
    },
    chart: {
      unit: 'successful req/s by worker count',
      categories: targets,
      series: counts.map((n) => ({
        name: `${n} worker(s)`,
        values: targets.map((t) => s.measurements.find((m) => m.workers === n && m.target.label === t)?.rps.median),
      })),
    },
  };
}

/** The report's content, shared by the Markdown and the HTML renderings. */
export function reportSections(r: BenchResults): Section[] {
  return [
    overview(r),
    targetsSection(r),
    claimsSection(r),
    serializationSection(r),
    payloadSection(r),
    unarySection(r, 'get'),
    latencySection(r),
    costSection(r),
    overheadSection(r),
    ledgerSection(r),
    unarySection(r, 'list'),
    waysSection(r),
    scalingSection(r),
    streamingSection(r),
    runtimesSection(r),
    ...scaleSections(r),
    {
      title: 'Decision guide',
      paragraphs: ['Derived from the numbers above; rerun on your hardware before you rely on it.'],
      list: decisionGuide(r),
    },
  ].filter((s): s is Section => s !== undefined);
}

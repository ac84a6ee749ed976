// The overhead scenario in the report: what our layers cost over hand-written servers doing the
// same work, per database, and the targets read from it.
import type { BenchResults } from '../results.js';
import type { DatabaseEngine } from '../databases.js';
import { type OverheadCall, type OverheadMeasurement, overheadTargetId, roundRatio } from '../scenarios/overhead.js';
import type { Section } from './document.js';
import type { TargetCheck } from './findings.js';
import { f, n0 } from './format.js';

const ENGINE_NAME: Record<DatabaseEngine, string> = { sqlite: 'SQLite', postgresql: 'PostgreSQL' };
const CALL_NAME: Record<OverheadCall, string> = {
  get: 'GetUser',
  list: '100-user list',
  create: 'CreateUser',
  update: 'UpdateUser',
};

/** One target of the overhead scenario: ours (`protocol` key) against another target, with the ratio to reach. */
interface OverheadRule {
  call: OverheadCall;
  ours: string;
  base: string;
  what: string;
  /** The ratio to reach on each engine. */
  required: Record<DatabaseEngine, number>;
}

const OURS_REST = 'ours-rest-h1';
const OURS_GRPC = 'ours-grpc';

/** The targets, as the issues set them: reads ≥ 0.9× on SQLite and 0.8× on PostgreSQL, writes ≥ 0.8×. */
const RULES: OverheadRule[] = [
  ...(['get', 'list'] as const).flatMap((call): OverheadRule[] => [
    {
      call,
      ours: OURS_REST,
      base: 'same-work-fastify',
      what: `our REST ${CALL_NAME[call]} ≥ {x} × same-work Fastify`,
      required: { sqlite: 0.9, postgresql: 0.8 },
    },
    {
      call,
      ours: OURS_GRPC,
      base: 'same-work-grpc-js',
      what: `our gRPC ${CALL_NAME[call]} ≥ {x} × same-work grpc-js`,
      required: { sqlite: 0.9, postgresql: 0.8 },
    },
    {
      call,
      ours: OURS_GRPC,
      base: 'same-work-http2-grpc',
      what: `our gRPC ${CALL_NAME[call]} ≥ {x} × same-work node:http2 (the engine's floor)`,
      required: { sqlite: 0.8, postgresql: 0.8 },
    },
  ]),
  {
    call: 'list',
    ours: OURS_GRPC,
    base: OURS_REST,
    what: 'our 100-user list over gRPC ≥ {x} × our REST/1.1',
    required: { sqlite: 1, postgresql: 1 },
  },
  ...(['create', 'update'] as const).flatMap((call): OverheadRule[] => [
    {
      call,
      ours: OURS_REST,
      base: 'same-work-fastify',
      what: `our REST ${CALL_NAME[call]} ≥ {x} × same-work Fastify (with its change-log row)`,
      required: { sqlite: 0.8, postgresql: 0.8 },
    },
    {
      call,
      ours: OURS_GRPC,
      base: 'same-work-grpc-js',
      what: `our gRPC ${CALL_NAME[call]} ≥ {x} × same-work grpc-js (with its change-log row)`,
      required: { sqlite: 0.8, postgresql: 0.8 },
    },
  ]),
];

/** A target's id in a call: our protocol keys and the servers' keys name them the same way. */
const idOf = (key: string, call: OverheadCall) =>
  key.startsWith('ours-') ? `${key}-${call}` : overheadTargetId(key, 'grpc', call);

export function overheadAt(results: BenchResults, engine: DatabaseEngine, id: string): OverheadMeasurement | undefined {
  return results.overhead?.measurements.find((m) => m.engine === engine && m.target.id === id);
}

const rps = (n: number) => `${n0(n)} req/s`;

/** The targets of every engine the run measured (SQLite's only, as not measured, when it measured none). */
export function overheadTargets(results: BenchResults): TargetCheck[] {
  const engines = results.overhead?.engines ?? ['sqlite'];
  return engines.flatMap((engine) =>
    RULES.map((rule): TargetCheck => {
      const required = rule.required[engine];
      const target = `${rule.what.replace('{x}', required.toFixed(1))}, ${ENGINE_NAME[engine]}`;
      const a = overheadAt(results, engine, idOf(rule.ours, rule.call));
      const b = overheadAt(results, engine, idOf(rule.base, rule.call));
      const measured = a && b ? roundRatio(a, b) : undefined;
      if (!a || !b || !measured) {
        return { target, required, measured: Number.NaN, met: undefined, detail: 'not measured in this run' };
      }
      return {
        target,
        required,
        measured: measured.median,
        met: measured.median >= required,
        detail:
          `${rps(a.rps.median)} vs ${rps(b.rps.median)} at ${a.connections} connections ` +
          `(rounds ${f(measured.min, 2)}–${f(measured.max, 2)}×)`,
      };
    }),
  );
}

/** The report's section: every target of every call, per database. */
export function overheadSection(results: BenchResults): Section | undefined {
  const o = results.overhead;
  if (!o || o.measurements.length === 0) return undefined;
  const rows = o.measurements.map((m) => [
    ENGINE_NAME[m.engine],
    CALL_NAME[m.target.call],
    m.target.label,
    n0(m.rps.median),
    `${n0(m.rps.min)}–${n0(m.rps.max)}`,
    f(m.latencyMs.p50, 2),
    f(m.latencyMs.p99, 2),
    m.serverUsPerCall === undefined ? '—' : n0(m.serverUsPerCall),
    m.driver,
    String(m.failed),
  ]);
  return {
    title: 'Our cost over hand-written code (same work)',
    paragraphs: [
      'Each database: our server as shipped (auth, metrics and the access log on) beside hand-written servers doing ' +
        'the same work with no framework of ours — Fastify, grpc-js and bare node:http2, reading with prepared ' +
        'statements and writing each user with its change-log row in one transaction, as ours does. All of them run ' +
        "at once on the server core and each call's targets are loaded in turn, round by round: a target's ratio is " +
        "the median of its rounds' ratios. Creates are sent by the built-in driver (each names a new email; h2load " +
        'sends one body), everything else by the load generator.',
      ...(o.failures.length
        ? [`Failed to measure: ${o.failures.map((fl) => `${fl.target.id} on ${fl.engine} (${fl.error})`).join('; ')}.`]
        : []),
    ],
    table: {
      head: ['database', 'call', 'server', 'req/s', 'spread', 'p50 ms', 'p99 ms', 'server µs/call', 'driver', 'failed'],
      rows,
    },
  };
}

/** The cost ledger: µs of server CPU per call, layer by layer. */
export function ledgerSection(results: BenchResults): Section | undefined {
  const ledger = results.ledger;
  if (!ledger || ledger.columns.length === 0) return undefined;
  const { columns } = ledger;
  const rows = ledger.layers.map((l) => [l.layer, ...columns.map((c) => f(l.us[c.key] ?? 0, 1)), l.what]);
  rows.push(['total (measured unprofiled)', ...columns.map((c) => f(c.usPerCall, 1)), '']);
  return {
    title: 'Cost ledger: µs of server CPU per call, by layer',
    paragraphs: [
      'Our server as shipped (auth, metrics, access log on), on the first database. Each call is loaded once unprofiled ' +
        '(its server CPU per call: the total row) and once under the CPU profiler, started after the warm-up and stopped ' +
        "with the load; a layer's µs is its share of the server thread's busy samples times that total (work on other " +
        'threads — parallel GC, the SQLite reader threads — is spread over the layers in proportion). A sample is taken ' +
        "whether the thread computes or waits in a system call, so a write's database share includes its wait for the " +
        'disk (fsync). Layers are known by the file a sample is in: what the table calls Fastify or Node is what those ' +
        'run for us.',
      `Busy samples per column: ${columns.map((c) => `${c.label} ${n0(c.samples)}`).join(', ')}.`,
      ...(ledger.failures.length
        ? [`Not measured: ${ledger.failures.map((fl) => `${fl.column} (${fl.error})`).join('; ')}.`]
        : []),
    ],
    table: { head: ['layer', ...columns.map((c) => `${c.label} µs`), 'what'], rows },
  };
}

import type { DriverName } from './load/drivers.js';

export const SCENARIOS = [
  'serialization',
  'payload',
  'unary',
  'cost',
  'overhead',
  'ledger',
  'scaling',
  'streaming',
  'scale',
  'runtimes',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
/**
 * What runs without --scenario: all but `scale`, which seeds databases of up to millions of users,
 * and `runtimes`, which compares Node.js runtimes that --node names: each runs only when named.
 */
export const DEFAULT_SCENARIOS: readonly Scenario[] = SCENARIOS.filter((s) => s !== 'scale' && s !== 'runtimes');

/** Table sizes the scale scenario may grow to: from --users' least, to what seeds in a few minutes. */
export const SCALE_SIZE_LIMITS = { min: 200, max: 5_000_000 } as const;

export interface BenchOptions {
  quick: boolean;
  scenarios: Scenario[];
  /** Measured seconds per load run, after `warmupS`. */
  durationS: number;
  warmupS: number;
  /** Connections per load run, one run set per value. */
  concurrency: number[];
  /** Concurrent streams per HTTP/2 connection (HTTP/1.1 is never pipelined). */
  streams: number;
  /** Repetitions of each measurement, reported as median and spread. */
  runs: number;
  /** Users seeded before measuring. */
  users: number;
  /** Table sizes the scale scenario measures at, ascending: one database per engine, grown from size to size. */
  sizes: number[];
  /** Engines: `sqlite` (a fresh file) and/or a `postgres://` URL (a fresh schema in it); scale and overhead measure each, the other scenarios run on the first. */
  databases: string[];
  subscribers: number;
  events: number;
  /** `auto`: h2load when installed, else the built-in Node driver. */
  driver: DriverName | 'auto';
  /** Only unary targets whose id starts with one of these. */
  targets: string[];
  /** The runtimes scenario's other Node.js runtimes: majors (npm's build, through scripts/with-node) or node binaries. */
  node: string[];
  out: string;
  serializationRoundMs: number;
  serializationRounds: number;
}

const FULL = {
  durationS: 5,
  warmupS: 2,
  concurrency: [1, 16, 64],
  streams: 1,
  runs: 3,
  users: 10_000,
  sizes: [10_000, 100_000, 1_000_000],
  subscribers: 50,
  events: 2000,
  serializationRoundMs: 300,
  serializationRounds: 5,
};
// A smoke run: every scenario and target once, briefly (test/bench.test.ts runs it).
const QUICK = {
  durationS: 1,
  warmupS: 0.5,
  concurrency: [16],
  streams: 1,
  runs: 1,
  users: 1000,
  sizes: [1000, 5000],
  subscribers: 5,
  events: 200,
  serializationRoundMs: 30,
  serializationRounds: 2,
};

/** The bench command's flags (all strings on the command line). */
export const BENCH_FLAGS = [
  'scenario',
  'duration',
  'warmup',
  'concurrency',
  'streams',
  'runs',
  'users',
  'sizes',
  'db',
  'subscribers',
  'events',
  'driver',
  'target',
  'node',
  'out',
] as const;

function whole(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name} must be a whole number of at least ${min}, got "${raw}"`);
  return value;
}

function seconds(name: string, raw: string): number {
  const value = Number(raw);
  if (!(value > 0) || value > 3600)
    throw new Error(`--${name} must be a number of seconds above 0 (at most 3600), got "${raw}"`);
  return value;
}

/** Ascending, distinct table sizes within SCALE_SIZE_LIMITS. */
function sizes(raw: string): number[] {
  const { min, max } = SCALE_SIZE_LIMITS;
  const values = list(raw).map((size) => {
    const value = Number(size);
    if (!/^\d+$/.test(size) || value < min || value > max)
      throw new Error(`--sizes must be whole numbers in digits from ${min} to ${max}, got "${size}"`);
    return value;
  });
  if (values.length === 0) throw new Error('--sizes must name at least one table size');
  return [...new Set(values)].sort((a, b) => a - b);
}

/** `sqlite` or postgres:// URLs, each at most once. */
function databases(raw: string): string[] {
  const values = [...new Set(list(raw))];
  const bad = values.find((db) => db !== 'sqlite' && !/^postgres(ql)?:\/\/./.test(db));
  if (bad !== undefined) throw new Error(`--db must be sqlite or postgres:// URLs, got "${bad}"`);
  if (values.length === 0) throw new Error('--db must name at least one engine');
  return values;
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function benchOptions(
  flags: Record<string, string | undefined>,
  quick: boolean,
  now = new Date(),
): BenchOptions {
  const base = quick ? QUICK : FULL;
  const scenarios: string[] = flags.scenario ? list(flags.scenario) : [...DEFAULT_SCENARIOS];
  const unknown = scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`--scenario: unknown ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  if (scenarios.includes('runtimes') && !flags.node) {
    throw new Error('--scenario runtimes compares this Node.js with others: name them with --node (e.g. --node 24)');
  }
  const driver = flags.driver ?? 'auto';
  if (!['auto', 'h2load', 'node'].includes(driver))
    throw new Error(`--driver must be auto, h2load or node, got "${driver}"`);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return {
    quick,
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    durationS: flags.duration ? seconds('duration', flags.duration) : base.durationS,
    warmupS: flags.warmup ? seconds('warmup', flags.warmup) : base.warmupS,
    concurrency: flags.concurrency ? list(flags.concurrency).map((c) => whole('concurrency', c, 1)) : base.concurrency,
    streams: flags.streams ? whole('streams', flags.streams, 1) : base.streams,
    runs: flags.runs ? whole('runs', flags.runs, 1) : base.runs,
    users: flags.users ? whole('users', flags.users, 200) : base.users,
    sizes: flags.sizes === undefined ? base.sizes : sizes(flags.sizes),
    databases: flags.db === undefined ? ['sqlite'] : databases(flags.db),
    subscribers: flags.subscribers ? whole('subscribers', flags.subscribers, 1) : base.subscribers,
    events: flags.events ? whole('events', flags.events, 1) : base.events,
    driver: driver as BenchOptions['driver'],
    targets: flags.target ? list(flags.target) : [],
    node: flags.node ? list(flags.node) : [],
    out: flags.out ?? `bench-results/${stamp}`,
    serializationRoundMs: base.serializationRoundMs,
    serializationRounds: base.serializationRounds,
  };
}

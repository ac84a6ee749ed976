// The runtimes scenario in the report: our server on each Node.js runtime, against the lab's own.
import type { BenchResults } from '../results.js';
import { roundRatio } from '../scenarios/overhead.js';
import { RUNTIME_TARGETS } from '../scenarios/runtimes.js';
import type { Section } from './document.js';
import { f, n0 } from './format.js';

const CALL_NAME = { get: 'GetUser', list: '100-user list' } as const;
const PROTOCOL_NAME = { http1: 'REST (HTTP/1.1)', grpc: 'gRPC' } as const;
const FAN_OUT_NAME = {
  'grpc-watch': 'gRPC WatchUsers',
  sse: 'SSE',
  'graphql-sse': 'GraphQL subscription',
  'trpc-sse': 'tRPC subscription',
} as const;

/** `ratio (min–max)` of round ratios, or the plain ratio of two single measurements. */
const ratioText = (median: number, min?: number, max?: number) =>
  min === undefined || max === undefined ? `${f(median, 2)}×` : `${f(median, 2)}× (${f(min, 2)}–${f(max, 2)})`;

export function runtimesSection(results: BenchResults): Section | undefined {
  const r = results.runtimes;
  if (!r || r.runtimes.length < 2) return undefined;
  const [base, ...others] = r.runtimes.map((rt) => rt.version);
  const head = ['call', base!, ...others.flatMap((o) => [o, `${o} ÷ ${base}`])];
  const rows: string[][] = [];
  for (const target of RUNTIME_TARGETS) {
    const of = (runtime: string) => r.measurements.find((m) => m.runtime === runtime && m.target.id === target.id);
    const first = of(base!);
    if (!first) continue;
    const cells = others.flatMap((other) => {
      const m = of(other);
      const ratio = m && roundRatio(m, first);
      return [m ? `${n0(m.rps.median)} req/s` : '—', ratio ? ratioText(ratio.median, ratio.min, ratio.max) : '—'];
    });
    rows.push([
      `${CALL_NAME[target.call as 'get' | 'list']}, ${PROTOCOL_NAME[target.protocol]}`,
      `${n0(first.rps.median)} req/s`,
      ...cells,
    ]);
  }
  for (const protocol of Object.keys(FAN_OUT_NAME) as (keyof typeof FAN_OUT_NAME)[]) {
    const of = (runtime: string) => r.fanOut.find((m) => m.runtime === runtime && m.protocol === protocol);
    const first = of(base!);
    if (!first) continue;
    const cells = others.flatMap((other) => {
      const m = of(other);
      return m
        ? [`${n0(m.deliveredPerSecond)} events/s`, ratioText(m.deliveredPerSecond / first.deliveredPerSecond)]
        : ['—', '—'];
    });
    const what = `fan-out, ${FAN_OUT_NAME[protocol]} × ${first.subscribers}`;
    rows.push([what, `${n0(first.deliveredPerSecond)} events/s`, ...cells]);
  }
  const missing = r.fanOut.filter((m) => m.missing > 0);
  return {
    title: 'Node.js runtimes',
    paragraphs: [
      `Our server as shipped (auth and metrics on), run by each Node.js: ${r.runtimes.map((rt) => `${rt.version} (ABI ${rt.abi})`).join(', ')}, ` +
        `the lab's own first; the load generator and the lab stay on ${base}. Every runtime's server runs at once on ` +
        "the server core and each call's targets are loaded in turn, round by round: a ratio is the median (and " +
        "range) of the rounds' ratios. The fan-out runs on each runtime in turn, once: its ratio is of one measurement each.",
      ...(r.failures.length
        ? [`Failed to measure: ${r.failures.map((fl) => `${fl.target} on ${fl.runtime} (${fl.error})`).join('; ')}.`]
        : []),
      ...(missing.length ? [`Events missing: ${missing.map((m) => `${m.label} ${m.missing}`).join('; ')}.`] : []),
    ],
    table: { head, rows },
  };
}

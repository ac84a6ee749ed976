// The report's "Scale with data" part: each read's latency against the table's size on each engine,
// the seeding that grew the tables, GetUser beside the filtered-list loop, and the issue's targets.
import type { BenchResults } from '../results.js';
import { SCALE_CALL_PLAN, SCALE_CALLS } from '../scenarios/scale-calls.js';
import { EVENT_LOOP_RESOLUTION_MS, LOOPED_LISTS, type MixedLoad, type MixedRun } from '../scenarios/scale-mixed.js';
import type { ScaleEngineResults, ScalePoint } from '../scenarios/scale.js';
import type { Spread } from '../stats.js';
import type { Section } from './document.js';
import type { TargetCheck } from './findings.js';
import { f, n0 } from './format.js';

/** The issue's sizes and bounds. */
export const SCALE_TARGETS = {
  /** The table size the targets are stated at. */
  size: 1_000_000,
  filterMissP99Ms: 10,
  besideRatio: 0.8,
  eventLoopDelayP99Ms: 10,
} as const;

const ENGINE_NAMES = { sqlite: 'SQLite', postgresql: 'PostgreSQL' } as const;
const engineName = (e: ScaleEngineResults) => ENGINE_NAMES[e.engine];
const range = (s: Spread, digits = 2) => (s.min === s.max ? '' : ` (${f(s.min, digits)}–${f(s.max, digits)})`);
const mixedOf = (p: ScalePoint): MixedLoad | undefined => ('error' in p.mixed ? undefined : p.mixed);

export function scaleSections(r: BenchResults): Section[] {
  const scale = r.scale;
  if (!scale?.engines.length) return [];
  const engines = scale.engines.filter((e) => e.points.length);
  return [overviewSection(r), ...engines.map((e) => latencySection(e, scale.sampling.requests)), mixedSection(r)];
}

function overviewSection(r: BenchResults): Section {
  const scale = r.scale!;
  const { hit, miss, shortMiss } = scale.filters;
  const { warmup, requests, budgetS } = scale.sampling;
  const problems = scale.engines.flatMap((e) =>
    e.points.flatMap((p) => [
      ...p.calls.flatMap((c) =>
        c.problem ? [`${engineName(e)}, ${n0(p.size)} users, ${c.label}: ${c.problem}.`] : [],
      ),
      ...('error' in p.mixed ? [`${engineName(e)}, ${n0(p.size)} users, mixed load: ${p.mixed.error}.`] : []),
    ]),
  );
  return {
    title: 'Scale with data',
    paragraphs: [
      'Each engine gets a fresh database (SQLite: a new file; PostgreSQL: a schema of its own, dropped ' +
        "afterwards), grown size by size through the service's batch create (10,000 users per batch), so the " +
        'change log, the indexes and whatever the store keeps beside the rows are written as in production. ' +
        'Seconds are the wall time of each growth step, opening and closing the database included.',
      `The seeded names are the demo seed's ("Ada Lovelace", "Alan Turing"…): the filter "${hit}" matches one ` +
        `user in twenty, "${miss}" and "${shortMiss}" match none. "${shortMiss}" has two characters, too few ` +
        'for a trigram index (the store looks such filters up in its index of one- and two-character grams), ' +
        'so it is measured apart.',
      `Each call is timed one request after another on one kept-alive HTTP/1.1 connection to our REST server ` +
        `(pinned as in every scenario): ${requests} timed requests after ${warmup} warm-up, but at most ` +
        `${budgetS} s of timing per call, so a slow read at a large size is timed fewer times (the count is ` +
        'given when it fell short). Totals (X-Total-Count) are checked against the table: a wrong one is listed below.',
      ...scale.engines.flatMap((e) => (e.error ? [`${engineName(e)} stopped early: ${e.error}.`] : [])),
      ...problems,
    ],
    table: {
      head: ['engine', 'table size', 'users added', 'seconds', 'users/s', 'seconds since empty'],
      rows: scale.engines.flatMap((e) =>
        e.points.map((p) => [
          engineName(e),
          n0(p.size),
          n0(p.seeding.added),
          f(p.seeding.seconds, 1),
          n0(p.seeding.usersPerSecond),
          f(p.seeding.cumulativeS, 1),
        ]),
      ),
    },
  };
}

function latencySection(engine: ScaleEngineResults, requested: number): Section {
  return {
    title: `Scale with data — ${engineName(engine)}: latency by table size`,
    paragraphs: [
      "Each cell is p50 / p99 in ms of one caller's requests. The plot draws each call's p99 against the " +
        "table's size, both axes logarithmic: a flat line is a read whose cost does not grow with the data.",
      `The hit's total (X-Total-Count; ≥ where the server says its count stopped): ${engine.points
        .map((p) => {
          const hit = p.calls.find((c) => c.call === 'filter-hit-total');
          const total = hit?.total === undefined ? '—' : `${hit.totalIsLowerBound ? '≥ ' : ''}${n0(hit.total)}`;
          return `${total} of ${n0(p.size)}`;
        })
        .join('; ')}.`,
    ],
    table: {
      head: ['call', ...engine.points.map((p) => `${n0(p.size)} users`)],
      rows: SCALE_CALLS.map((id) => [
        SCALE_CALL_PLAN[id].label,
        ...engine.points.map((p) => {
          const c = p.calls.find((call) => call.call === id);
          if (!c) return '—';
          const short = c.requests < requested ? ` (n=${c.requests})` : '';
          return `${f(c.latencyMs.p50)} / ${f(c.latencyMs.p99)}${short}${c.problem ? ' ✗' : ''}`;
        }),
      ]),
    },
    plot: {
      xLabel: 'users in the table',
      yLabel: 'p99 ms',
      series: SCALE_CALLS.map((id) => ({
        name: SCALE_CALL_PLAN[id].label,
        points: engine.points.flatMap((p) => {
          const c = p.calls.find((call) => call.call === id);
          return c && Number.isFinite(c.latencyMs.p99) ? [{ x: p.size, y: c.latencyMs.p99 }] : [];
        }),
      })),
    },
  };
}

function mixedSection(r: BenchResults): Section {
  const engines = r.scale!.engines;
  return {
    title: 'Scale with data — GetUser beside a filtered-list loop',
    paragraphs: [
      'GetUser (REST/1.1, as in the unary scenario) loaded alone, then beside one client that asks for ' +
        `filtered lists one at a time for the whole run (in turn: ${LOOPED_LISTS.map((c) => SCALE_CALL_PLAN[c].label).join('; ')}). ` +
        'Alone and beside alternate run by run; the ratio is the median of each pair of neighbouring runs ' +
        '(with its range). Lists/s counts the lists that started and ended inside the measured window; the ' +
        'longest is timed in full, whichever list it was, even when it outlasted the window.',
      'The server reports on itself through its metrics, scraped at the start and the end of each measured ' +
        "window: the event-loop delay is prom-client's p99 (its histogram restarts at each scrape) less its " +
        `${EVENT_LOOP_RESOLUTION_MS} ms sampling interval (an idle loop reads ${EVENT_LOOP_RESOLUTION_MS} ms); ` +
        "the store's get_user p99 is a bucket bound from the operation histogram, a pool wait included; " +
        "PostgreSQL's pool is read at the window's end (connections used of the most it opens, calls waiting " +
        'for one). Bounds and pool readings are the worst run of their kind; lists p99 is the worst run beside.',
      'GetUser alone at these connection counts keeps the server core busy by itself, and a busy loop is a ' +
        'delayed one: read the event-loop delay beside the loop against the same figure alone, not against zero.',
    ],
    table: {
      head: [
        'engine',
        'users',
        'conn',
        'GetUser alone req/s',
        'beside req/s',
        'beside ÷ alone',
        'p99 ms alone / beside',
        'lists/s (p99 ms; longest ms)',
        'event-loop delay p99 ms alone / beside',
        'store get_user p99 ≤ ms alone / beside',
        'pool used/max, waiting (beside)',
        'failed',
      ],
      rows: engines.flatMap((e) =>
        e.points.map((p) => {
          const m = mixedOf(p);
          if (!m) {
            const error = 'error' in p.mixed ? p.mixed.error : '';
            return [engineName(e), n0(p.size), '', 'failed', error, ...Array.from({ length: 7 }, () => '')];
          }
          // The worst run of each kind: these are bounds and point samples, not something to take a median of.
          const worst = (beside: boolean, pick: (run: MixedRun) => number | undefined) => {
            const values = m.runs.filter((run) => run.beside === beside).flatMap((run) => pick(run) ?? []);
            return values.length ? Math.max(...values) : undefined;
          };
          const storeP99 = (beside: boolean) => f(worst(beside, (run) => run.server.storeGetUserP99AtMostMs));
          const used = worst(true, (run) => run.server.pool?.used);
          const max = worst(true, (run) => run.server.pool?.max);
          const waiting = worst(true, (run) => run.server.pool?.pending);
          const listsP99 = worst(true, (run) => run.lists?.latencyMs.p99);
          const longest = m.runs
            .flatMap((run) => run.lists?.longest ?? [])
            .reduce<{ call: string; ms: number } | undefined>((a, b) => (a && a.ms >= b.ms ? a : b), undefined);
          const loop = m.eventLoopDelayP99Ms;
          return [
            engineName(e),
            n0(p.size),
            String(m.connections),
            `${n0(m.alone.median)}`,
            `${n0(m.beside.median)}`,
            `${f(m.ratio.median)}×${range(m.ratio)}`,
            `${f(m.aloneP99Ms)} / ${f(m.besideP99Ms)}`,
            `${f(m.listsPerSecond, 1)} (${f(listsP99)}; longest ${f(longest?.ms, 0)}${longest ? `, ${longest.call}` : ''})`,
            `${f(loop.alone?.median)} / ${f(loop.beside?.median)}${loop.beside ? range(loop.beside) : ''}`,
            `${storeP99(false)} / ${storeP99(true)}`,
            waiting === undefined ? '—' : `${used}/${max}, ${waiting}`,
            String(m.failed),
          ];
        }),
      ),
    },
  };
}

/** The issue's targets per engine, at the largest table measured (the size is named when below the target's). */
export function scaleTargets(r: BenchResults): TargetCheck[] {
  return (r.scale?.engines ?? []).flatMap((engine) => {
    const largest = engine.points.at(-1);
    if (!largest) return [];
    const name = engineName(engine);
    const at =
      largest.size >= SCALE_TARGETS.size
        ? `${n0(largest.size)} users`
        : `${n0(largest.size)} users, the largest measured (the target is at ${n0(SCALE_TARGETS.size)})`;
    const miss = largest.calls.find((c) => c.call === 'filter-miss');
    const mixed = mixedOf(largest);
    const besideLoop = mixed?.eventLoopDelayP99Ms.beside;
    const notMeasured = { measured: Number.NaN, met: undefined, detail: 'not measured in this run' };
    return [
      {
        target: `${name}: filter that matches nothing, p99 ≤ ${SCALE_TARGETS.filterMissP99Ms} ms at ${at}`,
        unit: 'ms' as const,
        required: SCALE_TARGETS.filterMissP99Ms,
        ...(miss
          ? {
              measured: miss.latencyMs.p99,
              met: miss.latencyMs.p99 <= SCALE_TARGETS.filterMissP99Ms && !miss.problem,
              detail: `${miss.label}: p50 ${f(miss.latencyMs.p50)} ms over ${miss.requests} requests`,
            }
          : notMeasured),
      },
      {
        target: `${name}: GetUser beside one client looping filtered lists ≥ ${f(SCALE_TARGETS.besideRatio)} × alone, ${at}`,
        required: SCALE_TARGETS.besideRatio,
        ...(mixed
          ? {
              measured: mixed.ratio.median,
              met: mixed.ratio.median >= SCALE_TARGETS.besideRatio && mixed.failed === 0,
              detail:
                `${n0(mixed.beside.median)} vs ${n0(mixed.alone.median)} req/s at ${mixed.connections} connections` +
                `${mixed.failed ? `, ${mixed.failed} failed calls` : ''}`,
            }
          : notMeasured),
      },
      {
        target: `${name}: event-loop delay p99 ≤ ${SCALE_TARGETS.eventLoopDelayP99Ms} ms beside the loop, ${at}`,
        unit: 'ms' as const,
        required: SCALE_TARGETS.eventLoopDelayP99Ms,
        ...(besideLoop
          ? {
              measured: besideLoop.median,
              met: besideLoop.median <= SCALE_TARGETS.eventLoopDelayP99Ms,
              detail:
                `median of ${mixed.runs.length / 2} run(s)${range(besideLoop)}; ` +
                `alone ${f(mixed.eventLoopDelayP99Ms.alone?.median)} ms`,
            }
          : notMeasured),
      },
    ];
  });
}

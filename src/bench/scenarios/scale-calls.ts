// The reads whose cost the scale scenario follows as the table grows, each timed one request after
// another from one kept-alive HTTP/1.1 connection: what a single caller waits, with nothing else on
// the server.
import { Agent } from 'node:http';
import { LIMITS } from '../../domain/user.js';
import { http1Call, type Reply } from '../load/node-driver.js';
import { type LatencySummary, summarizeLatencies } from '../stats.js';
import type { GrownTable } from './scale-data.js';

/** Page size of every listing measured (the REST default). */
export const SCALE_PAGE = 50;

/**
 * Name filters with known answers on the seeded names (demoUser's "Ada Lovelace", "Alan Turing"…):
 * `ada` matches every twentieth user; the misses match none. Trigram indexes serve filters of three
 * characters or more, so the two-character miss is measured apart, under its own name.
 */
export const SCALE_FILTERS = { hit: 'ada', miss: 'zqxj', shortMiss: 'qz' } as const;

export const SCALE_CALLS = [
  'count',
  'first-page',
  'cursor-page',
  'deep-page',
  'filter-hit',
  'filter-hit-total',
  'filter-miss',
  'filter-miss-short',
  'get-user',
] as const;
export type ScaleCallId = (typeof SCALE_CALLS)[number];

/** What a call's X-Total-Count must be at this size: the table's size, some, none, or not sent. */
type TotalExpected = 'size' | 'some' | 'none' | undefined;

interface ScaleCall {
  label: string;
  path: (table: GrownTable) => string;
  total: TotalExpected;
}

const { hit, miss, shortMiss } = SCALE_FILTERS;

/** The last offset page within both the table and LIMITS.offsetMax: offset pages go no deeper. */
export function deepestPage(size: number): number {
  return Math.floor((Math.min(size, LIMITS.offsetMax) - 1) / SCALE_PAGE) + 1;
}

const list = (query: Record<string, string | number>) =>
  `/users?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;

export const SCALE_CALL_PLAN: Record<ScaleCallId, ScaleCall> = {
  count: { label: 'count (total of a one-user page)', path: () => list({ limit: 1, fields: 'id' }), total: 'size' },
  'first-page': { label: 'first page with total', path: () => list({ page: 1, limit: SCALE_PAGE }), total: 'size' },
  'cursor-page': {
    label: 'cursor page, mid-table',
    path: (t) => list({ page_token: t.middleToken, limit: SCALE_PAGE }),
    total: undefined,
  },
  'deep-page': {
    label: `deepest offset page (offset cap ${LIMITS.offsetMax.toLocaleString('en-US')})`,
    path: (t) => list({ page: deepestPage(t.size), limit: SCALE_PAGE }),
    total: 'size',
  },
  'filter-hit': {
    label: `filter hit "${hit}", cursor page`,
    path: () => list({ filter: hit, page_token: '', limit: SCALE_PAGE }),
    total: undefined,
  },
  'filter-hit-total': {
    label: `filter hit "${hit}", first page with total`,
    path: () => list({ filter: hit, page: 1, limit: SCALE_PAGE }),
    total: 'some',
  },
  'filter-miss': {
    label: `filter miss "${miss}", first page with total`,
    path: () => list({ filter: miss, page: 1, limit: SCALE_PAGE }),
    total: 'none',
  },
  'filter-miss-short': {
    label: `2-character filter miss "${shortMiss}", first page with total (too short for trigrams: the gram index)`,
    path: () => list({ filter: shortMiss, page: 1, limit: SCALE_PAGE }),
    total: 'none',
  },
  'get-user': { label: 'GetUser (GET /users/:id)', path: (t) => `/users/${t.middleUser.id}`, total: undefined },
};

export interface SamplingPlan {
  /** Requests before the timed ones: the server's caches and the database's pages warm up. */
  warmup: number;
  requests: number;
  /** Stop timing a call after this long even if fewer requests were made: a slow read at a large size stays bounded. */
  budgetS: number;
}

export interface ScaleLatency {
  call: ScaleCallId;
  label: string;
  path: string;
  /** Requests timed (fewer than asked when the budget ran out first). */
  requests: number;
  failed: number;
  latencyMs: LatencySummary;
  /** X-Total-Count of the answers, and whether the server said it is a lower bound (a count that stopped). */
  total?: number;
  totalIsLowerBound?: boolean;
  /** What was wrong with an answer: a failed request, or a total that does not fit the table. */
  problem?: string;
}

/** Times `call` on the server at `port`, one request after another on one kept-alive connection. */
export async function timeCall(
  call: ScaleCallId,
  table: GrownTable,
  port: number,
  token: string,
  plan: SamplingPlan,
): Promise<ScaleLatency> {
  const { label, path: pathOf, total: expected } = SCALE_CALL_PLAN[call];
  const path = pathOf(table);
  const url = new URL(`http://127.0.0.1:${port}${path}`);
  const spec = { protocol: 'http1' as const, headers: { authorization: `Bearer ${token}` } };
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  const failures = { count: 0, first: '' };
  let first: Reply | undefined;
  const once = async (): Promise<number> => {
    const began = performance.now();
    const reply = await http1Call(agent, url, spec).catch((error: Error) => ({ status: 0, error }) as const);
    const ms = performance.now() - began;
    if ('error' in reply || reply.status !== 200) {
      failures.count++;
      failures.first ||= 'error' in reply ? reply.error.message : `HTTP ${reply.status}`;
    } else first ??= reply;
    return ms;
  };
  try {
    // Warm-up gets a quarter of the budget at most, so a slow call still leaves time to be timed.
    const warmupEnds = performance.now() + (plan.budgetS * 1000) / 4;
    for (let i = 0; i < plan.warmup && performance.now() < warmupEnds; i++) await once();
    // Only the timed requests count; a warm-up failure that does not recur is not reported.
    Object.assign(failures, { count: 0, first: '' });
    const stopAt = performance.now() + plan.budgetS * 1000;
    while (samples.length < plan.requests && (samples.length === 0 || performance.now() < stopAt))
      samples.push(await once());
  } finally {
    agent.destroy();
  }
  const header = (name: string) => first?.headers?.[name];
  const rawTotal = header('x-total-count');
  const total = rawTotal === undefined ? undefined : Number(rawTotal);
  const totalIsLowerBound = header('x-total-count-is-lower-bound') === 'true';
  const problem = failures.count
    ? `${failures.count} of ${samples.length} failed (${failures.first})`
    : totalProblem(expected, total, totalIsLowerBound, table.size);
  return {
    call,
    label,
    path,
    requests: samples.length,
    failed: failures.count,
    latencyMs: summarizeLatencies(samples),
    ...(total === undefined ? {} : { total, totalIsLowerBound }),
    ...(problem ? { problem } : {}),
  };
}

/** Whether a total fits the table: the seeded names make every answer known in advance. */
function totalProblem(
  expected: TotalExpected,
  total: number | undefined,
  lowerBound: boolean,
  size: number,
): string | undefined {
  if (expected === undefined) return undefined;
  if (total === undefined || !Number.isFinite(total)) return 'no X-Total-Count';
  if (expected === 'size' && (total !== size || lowerBound))
    return `X-Total-Count ${total}${lowerBound ? ' (a lower bound)' : ''} in a table of ${size} users`;
  if (expected === 'some' && total === 0) return 'the filter that should match matched none';
  if (expected === 'none' && total !== 0) return `the filter that should match none matched ${total}`;
  return undefined;
}

// Scale with data: what each read costs as the table grows (first page with its total, a cursor
// page, the deepest offset page, filters that hit and miss, the count, GetUser), on each engine,
// and whether GetUser keeps its pace beside a client looping filtered lists. One database per
// engine, grown size by size through the service; our server (pinned as in every scenario) serves
// each size in turn.
import { benchCredentials, oursSettings } from '../fixtures.js';
import type { DriverName } from '../load/drivers.js';
import type { Pinning } from '../pinning.js';
import type { Progress } from '../progress.js';
import { launchServer } from '../servers/launch.js';
import {
  SCALE_CALLS,
  SCALE_FILTERS,
  SCALE_PAGE,
  type SamplingPlan,
  type ScaleLatency,
  timeCall,
} from './scale-calls.js';
import { createBenchDatabase, type DatabaseEngine } from '../databases.js';
import { type GrownTable, TableGrower } from './scale-data.js';
import { type MixedLoad, mixedSteps, runMixed } from './scale-mixed.js';

export interface ScaleSettings {
  driver: DriverName;
  pinning: Pinning;
  /** Ascending table sizes. */
  sizes: number[];
  /** `sqlite` and/or postgres:// URLs. */
  databases: string[];
  connections: number;
  runs: number;
  durationS: number;
  warmupS: number;
  sampling: SamplingPlan;
  /** Where SQLite files are made (the bench's temp dir). */
  dir: string;
}

/** 200 timed requests per call after 20, but at most 30 s each: a full-scan read at a million users stays bounded. */
export const SCALE_SAMPLING = {
  full: { warmup: 20, requests: 200, budgetS: 30 },
  quick: { warmup: 5, requests: 30, budgetS: 3 },
} as const satisfies Record<string, SamplingPlan>;

export interface ScalePoint {
  size: number;
  /** This growth step: users added and its wall time; `cumulativeS` since the empty table. */
  seeding: { added: number; seconds: number; usersPerSecond: number; cumulativeS: number };
  calls: ScaleLatency[];
  mixed: MixedLoad | { error: string };
}

export interface ScaleEngineResults {
  engine: DatabaseEngine;
  /** `sqlite`, or the PostgreSQL URL with its password hidden. */
  database: string;
  points: ScalePoint[];
  /** Why the engine stopped before its last size, if it did (PostgreSQL unreachable, a seeding that failed). */
  error?: string;
}

export interface ScaleResults {
  filters: typeof SCALE_FILTERS;
  pageSize: number;
  sampling: SamplingPlan;
  engines: ScaleEngineResults[];
}

/** Per engine and size: growing, timing the calls, then the mixed-load pairs. */
const stepsPerSize = (settings: ScaleSettings) => 2 + mixedSteps(settings);
export const scaleSteps = (settings: ScaleSettings) =>
  settings.databases.length * settings.sizes.length * stepsPerSize(settings);

export async function runScale(settings: ScaleSettings, progress: Progress): Promise<ScaleResults> {
  const { jwtSecret, token } = await benchCredentials();
  const engines: ScaleEngineResults[] = [];
  for (const spec of settings.databases) {
    const points: ScalePoint[] = [];
    const engine = spec === 'sqlite' ? 'sqlite' : 'postgresql';
    let database = spec === 'sqlite' ? spec : 'postgresql';
    // Counted, so that an engine that stops early still moves the bar to its end.
    let stepped = 0;
    const steps = {
      step: (line: string) => {
        stepped++;
        progress.step(line);
      },
    };
    try {
      const made = await createBenchDatabase(spec, settings.dir);
      database = made.label;
      try {
        const grower = new TableGrower(made, settings.sizes);
        for (const size of settings.sizes) {
          steps.step(`scale ${engine}: growing to ${size.toLocaleString('en-US')} users`);
          const table = await grower.growTo(size);
          const label = `scale ${engine} ${size.toLocaleString('en-US')}`;
          const server = { db: made.db, jwtSecret, token };
          points.push(await measureSize(table, server, settings, steps, label, points.at(-1)));
        }
      } finally {
        await made.drop();
      }
      engines.push({ engine, database, points });
    } catch (error) {
      const message = (error as Error).message;
      const left = settings.sizes.length * stepsPerSize(settings) - stepped;
      for (let i = 0; i < left; i++) progress.step(`scale ${engine}: stopped (${message})`);
      engines.push({ engine, database, points, error: message });
    }
  }
  return { filters: SCALE_FILTERS, pageSize: SCALE_PAGE, sampling: settings.sampling, engines };
}

/** Our server on the grown table: the calls one at a time, then GetUser alone and beside the filter loop. */
async function measureSize(
  table: GrownTable,
  { db, jwtSecret, token }: { db: string; jwtSecret: string; token: string },
  settings: ScaleSettings,
  progress: Pick<Progress, 'step'>,
  label: string,
  previous: ScalePoint | undefined,
): Promise<ScalePoint> {
  const server = await launchServer('ours', oursSettings({ db, jwtSecret }), settings.pinning.serverCores);
  try {
    progress.step(`${label}: timing ${SCALE_CALLS.length} calls one at a time`);
    const calls: ScaleLatency[] = [];
    for (const call of SCALE_CALLS)
      calls.push(await timeCall(call, table, server.ports.http!, token, settings.sampling));
    const mixed = await runMixed(server, table, token, settings, progress, label);
    return {
      size: table.size,
      seeding: {
        added: table.added,
        seconds: table.seedingS,
        usersPerSecond: table.added / table.seedingS,
        cumulativeS: (previous?.seeding.cumulativeS ?? 0) + table.seedingS,
      },
      calls,
      mixed,
    };
  } finally {
    await server.stop();
  }
}

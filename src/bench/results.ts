import type { BenchOptions } from './options.js';
import type { Pinning } from './pinning.js';
import type { TargetCheck } from './report/findings.js';
import type { CostResults } from './scenarios/cost.js';
import type { LedgerResults } from './scenarios/ledger.js';
import type { OverheadResults } from './scenarios/overhead.js';
import type { PayloadMeasurement } from './scenarios/payload.js';
import type { RuntimesResults } from './scenarios/runtimes.js';
import type { ScaleResults } from './scenarios/scale.js';
import type { ScalingResults } from './scenarios/scaling.js';
import type { SerializationMeasurement } from './scenarios/serialization.js';
import type { StreamingResults } from './scenarios/streaming.js';
import type { UnaryResults } from './scenarios/unary.js';

/** Everything a run measured, with what is needed to reproduce and judge it. */
export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  machine: { cpuModel: string; cores: number; memoryGiB: number; os: string; loadAverage: number[] };
  versions: Record<string, string>;
  options: BenchOptions;
  pinning: Pinning;
  loadGenerator: { driver: 'h2load' | 'node'; version: string; note: string };
  serialization?: SerializationMeasurement[];
  payload?: PayloadMeasurement[];
  unary?: UnaryResults;
  cost?: CostResults;
  overhead?: OverheadResults;
  ledger?: LedgerResults;
  scaling?: ScalingResults;
  streaming?: StreamingResults;
  scale?: ScaleResults;
  runtimes?: RuntimesResults;
  /** The targets as this run measured them (the report's targets table). */
  targets?: TargetCheck[];
}

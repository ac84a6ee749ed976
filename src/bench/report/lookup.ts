// What the report's sections share: a finding's shape, and how one measurement is found in the results.
import type { BenchResults } from '../results.js';
import type { UnaryMeasurement } from '../scenarios/unary.js';

export type Verdict = 'holds' | 'partly' | 'does not hold' | 'not measured';

export interface Finding {
  claim: string;
  measured: string;
  verdict: Verdict;
}

/** The measurement of `targetId` at a connection count (the highest measured when omitted). */
export function unaryAt(results: BenchResults, targetId: string, connections?: number): UnaryMeasurement | undefined {
  const all = results.unary?.measurements.filter((m) => m.target.id === targetId) ?? [];
  const at = connections ?? Math.max(...all.map((m) => m.connections));
  return all.find((m) => m.connections === at);
}

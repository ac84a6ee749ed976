import type { User } from '../../domain/user.js';
import { type Codec, type CodecName, codecs } from '../codecs.js';
import type { Progress } from '../progress.js';
import { type Spread, spread } from '../stats.js';

export type Payload = 'one' | 'many';
export type Direction = 'encode' | 'decode';

export interface SerializationMeasurement {
  codec: CodecName;
  label: string;
  payload: Payload;
  direction: Direction;
  /** Microseconds per operation: median and spread over the rounds. */
  microsPerOp: Spread;
  opsPerSecond: number;
}

export interface SerializationSettings {
  /** Time spent measuring each case per round (after a warm-up of the same length). */
  roundMs: number;
  rounds: number;
}

/** Runs `op` in batches until `ms` have passed; returns µs per op. */
function timeFor(op: () => unknown, ms: number): number {
  let sink: unknown;
  let ops = 0;
  let batch = 64;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) sink = op();
    ops += batch;
    elapsed = performance.now() - start;
    if (elapsed < ms / 10) batch *= 2;
  }
  if (sink === undefined) throw new Error('codec returned nothing');
  return (elapsed * 1000) / ops;
}

function cases(codec: Codec, sample: User, page: User[]) {
  const one = codec.encodeOne(sample);
  const many = codec.encodeMany(page);
  return [
    { payload: 'one' as const, direction: 'encode' as const, op: () => codec.encodeOne(sample) },
    { payload: 'one' as const, direction: 'decode' as const, op: () => codec.decodeOne(one) },
    { payload: 'many' as const, direction: 'encode' as const, op: () => codec.encodeMany(page) },
    { payload: 'many' as const, direction: 'decode' as const, op: () => codec.decodeMany(many) },
  ];
}

export const SERIALIZATION_STEPS = codecs().length * 4;

export function runSerialization(
  sample: User,
  page: User[],
  settings: SerializationSettings,
  progress: Progress,
): SerializationMeasurement[] {
  const results: SerializationMeasurement[] = [];
  for (const codec of codecs()) {
    for (const c of cases(codec, sample, page)) {
      progress.step(`serialization ${codec.name} ${c.payload} ${c.direction}`);
      timeFor(c.op, settings.roundMs); // warm-up: let the JIT settle first
      const rounds = Array.from({ length: settings.rounds }, () => timeFor(c.op, settings.roundMs));
      const micros = spread(rounds);
      results.push({
        codec: codec.name,
        label: codec.label,
        payload: c.payload,
        direction: c.direction,
        microsPerOp: micros,
        opsPerSecond: 1e6 / micros.median,
      });
    }
  }
  return results;
}

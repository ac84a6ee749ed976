// A histogram served by prom-client's registry (same exposition, same cluster aggregation) whose
// observe costs a bucket scan and three additions: prom-client's own re-validates and re-hashes
// the labels on every observation, a microsecond that GetUser, at a few hundred, would feel.
import type { Registry } from 'prom-client';

/** One label set's counts. */
export interface Series {
  observe(value: number): void;
}

interface SeriesState extends Series {
  labels: Record<string, string>;
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName: string };

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, SeriesState>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of these label values, in `labelNames` order: bind once, observe often. */
  labels(...values: string[]): Series {
    // Label values never hold a newline here (methods, route templates, status names): a safe separator.
    const key = values.length === 1 ? values[0]! : values.join('\n');
    let state = this.series.get(key);
    if (!state) {
      const counts = new Float64Array(this.buckets.length + 1);
      const buckets = this.buckets;
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] ?? '']));
      const created: SeriesState = {
        labels,
        counts,
        sum: 0,
        count: 0,
        observe(value) {
          let i = 0;
          while (i < buckets.length && value > buckets[i]!) i++;
          counts[i]!++;
          created.sum += value;
          created.count++;
        },
      };
      state = created;
      this.series.set(key, state);
    }
    return state;
  }

  /** prom-client's metric shape; every label (`le` too) in `labels`, which cluster aggregation groups by. */
  get() {
    const values: Sample[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += counts[i]!;
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

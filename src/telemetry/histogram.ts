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

/** One label value's place in the tree of label values: the series sits where the last label's value leads. */
interface LabelNode {
  next: Map<string, LabelNode>;
  series?: SeriesState;
}

type Sample = { labels: Record<string, string | number>; value: number; metricName: string };

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series: SeriesState[] = [];
  private root: LabelNode = { next: new Map() };

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /**
   * The series of these label values, in `labelNames` order: bind once, observe often. Found through
   * one map per label, so a call that binds on every observation (a duration by method, route and
   * status) hashes strings the runtime has hashed before, instead of building a key per call.
   */
  labels(...values: string[]): Series {
    let node = this.root;
    for (const value of values) {
      let next = node.next.get(value);
      if (!next) node.next.set(value, (next = { next: new Map() }));
      node = next;
    }
    return (node.series ??= this.newSeries(values));
  }

  private newSeries(values: readonly string[]): SeriesState {
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
    this.series.push(created);
    return created;
  }

  /** prom-client's metric shape; every label (`le` too) in `labels`, which cluster aggregation groups by. */
  get() {
    const values: Sample[] = [];
    for (const { labels, counts, sum, count } of this.series) {
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
    this.series = [];
    this.root = { next: new Map() };
  }
}

// Reading our server's own metrics (GET /metrics, Prometheus text) while the lab loads it: what the
// server says about itself (event-loop delay, connection pool) beside what the clients measured.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a scrape in the Prometheus text format; a line that is none is an error (ours never writes one). */
export function parseScrape(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = LINE.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) labels[name!] = value!.replace(/\\(.)/g, '$1');
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

export async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`the metrics scrape answered ${response.status}`);
  return parseScrape(await response.text());
}

const matches = (sample: Sample, name: string, labels: Record<string, string>) =>
  sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v);

/** The sum of the samples named `name` whose labels include `labels`; undefined when there is none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => matches(s, name, labels));
  return found.length ? found.reduce((sum, s) => sum + s.value, 0) : undefined;
}

/**
 * A histogram's observations between two scrapes: how many, and the upper bound (seconds) of the
 * bucket the `p`th percentile fell in — a bound, not a value, as buckets are all a histogram keeps.
 */
export function histogramBetween(
  before: Sample[],
  after: Sample[],
  name: string,
  labels: Record<string, string>,
  p: number,
): { count: number; percentileAtMostS: number | undefined } {
  const buckets = (samples: Sample[]) =>
    new Map(
      samples
        .filter((s) => matches(s, `${name}_bucket`, labels))
        .map((s) => [s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le), s.value]),
    );
  const start = buckets(before);
  const end = [...buckets(after)].sort(([a], [b]) => a - b).map(([le, n]) => [le, n - (start.get(le) ?? 0)] as const);
  const count = end.at(-1)?.[1] ?? 0;
  if (count === 0) return { count, percentileAtMostS: undefined };
  const bucket = end.find(([, n]) => n >= (p / 100) * count);
  return { count, percentileAtMostS: bucket?.[0] };
}

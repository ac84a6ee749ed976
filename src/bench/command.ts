// `twinapi bench`: loaded only when that command runs, so `twinapi serve` never loads the lab.
import { BENCH_FLAGS, benchOptions, SCENARIOS } from './options.js';
import { runBench } from './run.js';

export const BENCH_USAGE = `Usage: twinapi bench [options]

Measures gRPC against REST on this machine; writes bench-results/<time>/report.md,
report.html and results.json. Needs the project's dev dependencies (run it from a clone).

  --quick                    a smoke run of under a minute (too short to quote)
  --scenario LIST            ${SCENARIOS.join(',')} (default: all but scale and runtimes)
  --duration S               measured seconds per load point (default 5)
  --warmup S                 warm-up seconds per load point (default 2)
  --concurrency LIST         connections per load point (default 1,16,64)
  --streams N                streams per HTTP/2 connection (default 1)
  --runs N                   repetitions per point (default 3)
  --users N                  users seeded first (default 10000)
  --sizes LIST               table sizes of the scale scenario (default 10000,100000,1000000)
  --db LIST                  sqlite and/or postgres:// URLs (default sqlite): scale and overhead measure
                             each, the other scenarios the first
  --subscribers N            fan-out subscribers (default 50)
  --events N                 fan-out events (default 2000)
  --driver auto|h2load|node  load generator (default: h2load when installed)
  --target LIST              only unary targets whose id starts with these
  --node LIST                the runtimes scenario's other Node.js runtimes: majors (npm's build, via
                             scripts/with-node) or node binaries' paths, e.g. 24
  --out DIR                  where the report goes
`;

export const BENCH_SWITCHES = ['quick'] as const;
export { BENCH_FLAGS };

/** Runs the lab; the exit code is 1 when any target failed its checks. */
export async function benchCommand(flags: Record<string, string | undefined>, quick: boolean): Promise<number> {
  const { dir, results } = await runBench(benchOptions(flags, quick));
  const failed =
    (results.unary?.failures.length ?? 0) +
    (results.overhead?.failures.length ?? 0) +
    (results.scaling?.failures.length ?? 0) +
    (results.scale?.engines.filter((e) => e.error !== undefined).length ?? 0);
  process.stdout.write(`report: ${dir}/report.html, ${dir}/report.md, raw numbers: ${dir}/results.json\n`);
  return failed > 0 ? 1 : 0;
}

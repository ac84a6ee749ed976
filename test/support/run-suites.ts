import { spawnSync } from 'node:child_process';

/** Runs test/<suite>.test.ts for each suite in one `node --test`, with `env` added, and exits with its status. */
export function runSuites(suites: readonly string[], env: Record<string, string>): never {
  const files = suites.map((suite) => `test/${suite}.test.ts`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  process.exit(run.status ?? 1);
}

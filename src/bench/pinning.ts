import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Which cores the server under test and the load generator get. With two or
 * more cores and `taskset`, they never share one, so a server's throughput is
 * not the load generator's leftovers.
 */
export interface Pinning {
  pinned: boolean;
  cores: number;
  serverCores: string;
  clientCores: string;
  clientCoreCount: number;
  note: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function planPinning(cores = availableParallelism()): Pinning {
  if (cores < 2 || !hasTaskset()) {
    const why = cores < 2 ? 'only one core' : 'taskset is not installed';
    return { pinned: false, cores, serverCores: '', clientCores: '', clientCoreCount: cores, note: `not pinned (${why}): server and load generator share the CPU` };
  }
  const clientCores = cores === 2 ? '1' : `1-${cores - 1}`;
  return { pinned: true, cores, serverCores: '0', clientCores, clientCoreCount: cores - 1, note: `server on core 0, load generator on core(s) ${clientCores}` };
}

/** The command line that runs `command` on `cores` (unchanged when not pinning). */
export function onCores(cores: string, command: string, args: string[]): [string, string[]] {
  return cores ? ['taskset', ['-c', cores, command, ...args]] : [command, args];
}

/** Moves this process (the lab's own clients) onto the load generator's cores. */
export function pinSelf(pinning: Pinning): void {
  if (pinning.pinned) execFileSync('taskset', ['-a', '-p', '-c', pinning.clientCores, String(process.pid)], { stdio: 'ignore' });
}

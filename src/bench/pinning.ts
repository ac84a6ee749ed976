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

/** The server on core 0, the load generator on the rest. */
export function planPinning(cores = availableParallelism()): Pinning {
  return splitCores(1, cores);
}

const range = (from: number, to: number) => (from === to ? String(from) : `${from}-${to}`);

/**
 * The server on the first `serverCores` cores, the load generator on the
 * rest. With no core left over (or no taskset), nothing is pinned and the
 * note says that the two share the CPU.
 */
export function splitCores(serverCores: number, cores = availableParallelism()): Pinning {
  const unpinned = (why: string): Pinning => ({
    pinned: false,
    cores,
    serverCores: '',
    clientCores: '',
    clientCoreCount: cores,
    note: `not pinned (${why}): server and load generator share the CPU`,
  });
  if (cores < 2) return unpinned('only one core');
  if (serverCores >= cores) return unpinned(`the server uses all ${cores} cores`);
  if (!hasTaskset()) return unpinned('taskset is not installed');
  const server = range(0, serverCores - 1);
  const client = range(serverCores, cores - 1);
  return {
    pinned: true,
    cores,
    serverCores: server,
    clientCores: client,
    clientCoreCount: cores - serverCores,
    note: `server on core(s) ${server}, load generator on core(s) ${client}`,
  };
}

/** The command line that runs `command` on `cores` (unchanged when not pinning). */
export function onCores(cores: string, command: string, args: string[]): [string, string[]] {
  return cores ? ['taskset', ['-c', cores, command, ...args]] : [command, args];
}

/** Moves this process (the lab's own clients) onto the load generator's cores. */
export function pinSelf(pinning: Pinning): void {
  if (pinning.pinned)
    execFileSync('taskset', ['-a', '-p', '-c', pinning.clientCores, String(process.pid)], { stdio: 'ignore' });
}

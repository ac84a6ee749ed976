import { readdirSync, readFileSync } from 'node:fs';

// Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ) on every mainstream architecture.
const TICKS_PER_SECOND = 100;

/** A process's own CPU seconds plus those of its exited children (user + system, all threads). */
function ownCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The live child pids of `pid`, whichever of its threads forked them; none off Linux. */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * CPU seconds a process and all its descendants have used so far (a server
 * of --workers N is a primary and N workers); undefined off Linux.
 */
function cpuSeconds(pid: number): number | undefined {
  const own = ownCpuSeconds(pid);
  if (own === undefined) return undefined;
  return childrenOf(pid).reduce((sum, child) => sum + (cpuSeconds(child) ?? 0), own);
}

const SAMPLE_EVERY_MS = 200;

/**
 * Measures how busy a process (with its descendants) is over a window: 1 means one core fully used.
 * It samples as it goes, because a process that has exited can no longer be read.
 */
export class CpuMeter {
  private readonly first: { cpu: number; at: number } | undefined;
  private last: { cpu: number; at: number } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.first = this.sample();
    this.last = this.first;
    this.timer = setInterval(() => {
      this.last = this.sample() ?? this.last;
    }, SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  private sample(): { cpu: number; at: number } | undefined {
    const cpu = cpuSeconds(this.pid);
    return cpu === undefined ? undefined : { cpu, at: performance.now() };
  }

  /** Cores used on average from construction to the last sample (undefined when /proc cannot tell). */
  read(): number | undefined {
    clearInterval(this.timer);
    this.last = this.sample() ?? this.last;
    if (!this.first || !this.last || this.last.at <= this.first.at) return undefined;
    return (this.last.cpu - this.first.cpu) / ((this.last.at - this.first.at) / 1000);
  }
}

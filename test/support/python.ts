// Clients from another gRPC implementation: Debian's python3-grpcio (C-core), run by Debian's
// own python3 (a python3 earlier on PATH may not have the package). .ci/run installs it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after } from 'node:test';

export const DEBIAN_PYTHON = '/usr/bin/python3';
const SCRIPTS = new URL('./python/', import.meta.url);

export interface PythonClient {
  process: ChildProcess;
  /** Resolves with the next stdout line, failing after `timeoutMs`. */
  nextLine(timeoutMs?: number): Promise<string>;
  send(line: string): void;
}

/** Runs test/support/python/<script> with `args`; killed after the test file if still running. */
export function runPython(script: string, args: string[]): PythonClient {
  if (!existsSync(DEBIAN_PYTHON)) throw new Error(`${DEBIAN_PYTHON} is missing: apt-get install python3-grpcio`);
  const child = spawn(DEBIAN_PYTHON, [new URL(script, SCRIPTS).pathname, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  return {
    process: child,
    nextLine(timeoutMs = 10_000) {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${script}: no output in ${timeoutMs} ms`)), timeoutMs);
        waiting.push((next) => {
          clearTimeout(timer);
          resolve(next);
        });
      });
    },
    send: (line) => child.stdin.write(`${line}\n`),
  };
}

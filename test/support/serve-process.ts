import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { GRPC_ENGINE } from './engine.js';
import { TEST_JWT_SECRET } from './tokens.js';

type LogLine = Record<string, unknown> & { msg?: string; server?: string; address?: string };

export interface SpawnedServe {
  process: ChildProcess;
  /** Every JSON log line so far. */
  logs: LogLine[];
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

export interface ServeProcess extends SpawnedServe {
  grpcAddress: string;
  restUrl: string;
  /** SIGTERM, then wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** A real `twinapi serve` process on loopback (port 0 unless `flags` say otherwise); killed after the test file. */
export function spawnServe(flags: Record<string, string>): SpawnedServe {
  const args = [
    '--import',
    'tsx',
    MAIN,
    'serve',
    '--host',
    '127.0.0.1',
    '--grpc-port',
    '0',
    '--grpc-engine',
    GRPC_ENGINE,
    '--rest-port',
    '0',
    '--log-level',
    'info',
    '--jwt-secret',
    TEST_JWT_SECRET,
    // Metrics off unless a test asks: 9464 is one port for every process.
    '--metrics-port',
    '0',
    // Load shedding off, as in the in-process stacks: workers starting together on two cores can
    // stall a loop past the limit and refuse a test's first calls.
    '--max-event-loop-delay-ms',
    '0',
  ];
  for (const [flag, value] of Object.entries(flags)) args.push(`--${flag}`, value);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs: LogLine[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => logs.push(JSON.parse(line) as LogLine));
  return { process: child, logs, exited, stderr: () => stderr };
}

/**
 * A real `twinapi serve` process, resolved once it serves; its listening lines
 * give the ports. With --workers N, waits for N workers' serving lines.
 */
export function startServeProcess(flags: Record<string, string>, servingLines = 1): Promise<ServeProcess> {
  const spawned = spawnServe(flags);
  let stopping: Promise<number | null> | undefined;
  const stop = () => (stopping ??= (spawned.process.kill('SIGTERM'), spawned.exited));
  after(stop);
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error('twinapi serve did not start in 20 s')), 20_000);
    void spawned.exited.then((code) => fail(new Error(`twinapi serve exited with ${code}`)));
    const poll = setInterval(() => {
      if (spawned.logs.filter((l) => l.msg === 'twinapi is serving').length < servingLines) return;
      clearInterval(poll);
      clearTimeout(timer);
      const address = (server: string) =>
        spawned.logs.find((l) => l.msg === 'listening' && l.server === server)!.address!;
      resolve({ ...spawned, grpcAddress: address('grpc'), restUrl: address('rest'), stop });
    }, 20);
  });
}

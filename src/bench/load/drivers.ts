import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgsFor } from '../child-node.js';
import { onCores, type Pinning } from '../pinning.js';
import { summarizeLatencies } from '../stats.js';
import { CpuMeter } from './cpu.js';
import type { NodeLoadOutcome } from './node-driver.js';
import { type LoadResult, type LoadSpec, overHttp1, statusInBody } from './spec.js';

export type DriverName = 'h2load' | 'node';

/** A load generator at or above this share of its cores is the bottleneck, not the server. */
const SATURATED = 0.9;

export function h2loadVersion(): string | undefined {
  try {
    return execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

export interface RunContext {
  driver: DriverName;
  pinning: Pinning;
  serverPid: number;
  /** For gRPC under h2load: DATA bytes of one OK reply, to count successes by grpc-status (see countGrpcSuccesses). */
  okReplyBytes?: number;
}

function run(command: string, args: string[]): { pid: number; done: Promise<string> } {
  let resolveDone!: (out: string) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const child = execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
    if (error) rejectDone(new Error(`${command} failed: ${error.message}\n${stderr}`));
    else resolveDone(stdout);
  });
  return { pid: child.pid!, done };
}

export async function runLoad(spec: LoadSpec, context: RunContext): Promise<LoadResult> {
  if (spec.sequence && context.driver === 'h2load') throw new Error('numbered requests need the built-in driver');
  const server = new CpuMeter(context.serverPid);
  const threads = Math.max(1, Math.min(context.pinning.clientCoreCount, spec.connections));
  const outcome =
    context.driver === 'h2load' ? await runH2load(spec, context, threads) : await runNodeDriver(spec, context);
  const serverCpu = server.read();
  const clientCpu = outcome.clientCpu;
  const clientSaturated =
    clientCpu !== undefined && clientCpu >= SATURATED * (context.driver === 'h2load' ? threads : 1);
  return { ...outcome, serverCpu, clientSaturated };
}

type Outcome = Omit<LoadResult, 'serverCpu' | 'clientSaturated'>;

async function runNodeDriver(spec: LoadSpec, context: RunContext): Promise<Outcome> {
  const payload = JSON.stringify({ ...spec, body: spec.body?.toString('base64') });
  const [command, args] = onCores(context.pinning.clientCores, process.execPath, [
    ...nodeArgsFor('./node-load-process', import.meta.url),
    payload,
  ]);
  const child = run(command, args);
  const meter = new CpuMeter(child.pid);
  const out = JSON.parse(await child.done) as NodeLoadOutcome;
  return {
    driver: 'node',
    requests: out.requests,
    succeeded: out.succeeded,
    failed: out.failed,
    rps: out.succeeded / out.measuredS,
    latencyMs: out.latencyMs,
    clientCpu: meter.read(),
  };
}

/** The counters of h2load's summary that the lab reads. */
export interface H2loadSummary {
  requests: number;
  /** Completed in the measured window with a 2xx status. */
  succeeded: number;
  dataBytes: number;
}

export function parseH2loadSummary(stdout: string): H2loadSummary {
  const requests = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded/.exec(stdout);
  const traffic = /traffic: .*?, [\d.]+\w*B \((\d+)\) data/.exec(stdout);
  if (!requests || !traffic) throw new Error(`unexpected h2load output:\n${stdout}`);
  return { requests: Number(requests[1]), succeeded: Number(requests[2]), dataBytes: Number(traffic[1]) };
}

/**
 * h2load counts any HTTP 200 as a success even when the RPC failed. A failed
 * unary call here is trailers-only (no DATA), so the OK calls are the DATA
 * bytes over one OK reply's bytes (every call asks the same question, so
 * every OK reply has the same size), capped by the 2xx count.
 */
export function countGrpcSuccesses(summary: H2loadSummary, okReplyBytes: number): number {
  return Math.min(summary.succeeded, Math.floor(summary.dataBytes / okReplyBytes));
}

/**
 * gRPC-Web and GraphQL send a failure in the body, so a failed call's reply is not empty (it may be larger
 * than an OK one). The run's calls count as OK only when its bytes are its 2xx replies as OK
 * replies, give or take one reply per connection (in flight when the run ended: counted in bytes, not in
 * calls); otherwise
 * the run is counted failed as a whole, never guessed.
 */
export function countBodyStatusSuccesses(summary: H2loadSummary, okReplyBytes: number, connections: number): number {
  const allOk = summary.succeeded * okReplyBytes;
  return Math.abs(summary.dataBytes - allOk) <= connections * okReplyBytes ? summary.succeeded : 0;
}

async function runH2load(spec: LoadSpec, context: RunContext, threads: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'twinapi-h2load-'));
  try {
    const logFile = join(dir, 'requests.log');
    const args = (durationS: number, warmupS: number) => {
      const list = ['-c', String(spec.connections), '-m', String(overHttp1(spec.protocol) ? 1 : spec.streams)];
      list.push('-t', String(threads), '-D', `${Math.round(durationS * 1000)}ms`);
      if (warmupS > 0) list.push('--warm-up-time', `${Math.round(warmupS * 1000)}ms`);
      list.push('--log-file', logFile);
      if (overHttp1(spec.protocol)) list.push('--h1');
      if (spec.method) list.push('-H', `:method: ${spec.method}`);
      for (const [name, value] of Object.entries(spec.headers ?? {})) list.push('-H', `${name}: ${value}`);
      if (spec.body) {
        const bodyFile = join(dir, 'request.bin');
        writeFileSync(bodyFile, spec.body);
        list.push('-d', bodyFile);
      }
      list.push(spec.url);
      return list;
    };
    // h2load's byte count includes its warm-up; gRPC-Web's and GraphQL's successes are counted by bytes, so
    // their warm-up is a run of its own, before the measured run.
    const separateWarmup = statusInBody(spec.protocol) && spec.warmupS > 0;
    if (separateWarmup) await run(...onCores(context.pinning.clientCores, 'h2load', args(spec.warmupS, 0))).done;
    const [command, fullArgs] = onCores(
      context.pinning.clientCores,
      'h2load',
      args(spec.durationS, separateWarmup ? 0 : spec.warmupS),
    );
    const child = run(command, fullArgs);
    const meter = new CpuMeter(child.pid);
    const summary = parseH2loadSummary(await child.done);
    const clientCpu = meter.read();
    const okReplyBytes = context.okReplyBytes ?? Number.POSITIVE_INFINITY;
    const succeeded = statusInBody(spec.protocol)
      ? countBodyStatusSuccesses(summary, okReplyBytes, spec.connections)
      : spec.protocol === 'grpc'
        ? countGrpcSuccesses(summary, okReplyBytes)
        : summary.succeeded;
    return {
      driver: 'h2load',
      requests: summary.requests,
      succeeded,
      failed: summary.requests - succeeded,
      rps: succeeded / spec.durationS,
      latencyMs: latenciesFromLog(readFileSync(logFile, 'utf8')),
      clientCpu,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Real percentiles from h2load's per-request log (start µs, status, elapsed µs), not its mean. */
export function latenciesFromLog(log: string): LoadResult['latencyMs'] {
  const samples: number[] = [];
  for (const line of log.split('\n')) {
    const elapsed = line.split('\t')[2];
    if (elapsed) samples.push(Number(elapsed) / 1000);
  }
  return summarizeLatencies(samples);
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after } from 'node:test';

export interface ServeProcess {
  grpcAddress: string;
  restUrl: string;
  process: ChildProcess;
  /** SIGTERM, then wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const MAIN = new URL('../src/cli/main.ts', import.meta.url).pathname;

/** A real `twinapi serve` process on loopback port 0; its listening lines give the ports. */
export function startServeProcess(flags: Record<string, string>): Promise<ServeProcess> {
  const args = ['--import', 'tsx', MAIN, 'serve', '--host', '127.0.0.1', '--grpc-port', '0', '--rest-port', '0', '--log-level', 'info'];
  for (const [flag, value] of Object.entries(flags)) args.push(`--${flag}`, value);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let exited: Promise<number | null> | undefined;
  const stop = () => (exited ??= new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  }));
  after(stop);
  return new Promise((resolve, reject) => {
    const addresses: Record<string, string> = {};
    const timer = setTimeout(() => reject(new Error('twinapi serve did not start in 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`twinapi serve exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; server?: string; address?: string };
      if (entry.msg === 'listening' && entry.server && entry.address) addresses[entry.server] = entry.address;
      if (entry.msg === 'twinapi is serving') {
        clearTimeout(timer);
        resolve({ grpcAddress: addresses.grpc!, restUrl: addresses.rest!, process: child, stop });
      }
    });
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { nodeArgsFor } from '../child-node.js';
import { onCores } from '../pinning.js';
import type { ServerPorts } from './entry.js';

export type ServerKind =
  | 'ours'
  | 'bare-http'
  | 'bare-http2-grpc'
  | 'bare-fastify'
  | 'bare-grpc-js'
  | 'bare-trpc'
  | 'bare-mercurius'
  | 'same-work-fastify'
  | 'same-work-grpc-js'
  | 'same-work-http2-grpc'
  | 'original';

export interface LaunchedServer {
  kind: ServerKind;
  pid: number;
  ports: ServerPorts;
  /** Sends `message` over IPC and resolves with the first reply of type `reply` (servers/profiler.ts). */
  ask(message: object, reply: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** Starts one server process on `cores` (run by `node`, the lab's own Node unless said) and waits for it to report its ports. */
export function launchServer(
  kind: ServerKind,
  settings: object,
  cores: string,
  node = process.execPath,
): Promise<LaunchedServer> {
  const [command, args] = onCores(cores, node, [
    ...nodeArgsFor(`./${kind}`, import.meta.url),
    JSON.stringify(settings),
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`${kind} server did not start in ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}${stderr ? `\n${stderr}` : ''}`));
    };
    child.once('exit', (code) => fail(new Error(`${kind} server exited with code ${code} before it was ready`)));
    child.once('error', fail);
    child.on('message', (message: { type?: string; ports?: ServerPorts }) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        kind,
        pid: child.pid!,
        ports: message.ports ?? {},
        ask: (question, reply) =>
          new Promise((answered) => {
            const listen = (answer: { type?: string }) => {
              if (answer.type !== reply) return;
              child.off('message', listen);
              answered(answer);
            };
            child.on('message', listen);
            child.send(question);
          }),
        stop: () => stopChild(child),
      });
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

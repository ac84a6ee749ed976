// `buf curl` (from the buf binary in devDependencies): a gRPC, gRPC-Web and Connect client from
// another implementation (Go), with server reflection.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './readme.js';

export interface BufCurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `buf curl` with `args`; resolves with its exit code and output (a failed RPC is a non-zero code, not a rejection). */
export function bufCurl(args: string[], timeoutMs = 20_000): Promise<BufCurlResult> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'node_modules/.bin/buf'),
      ['curl', ...args],
      { timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The arguments that make `buf curl` speak plain gRPC over cleartext HTTP/2 to `address`. */
export const grpcTo = (address: string) => ['--protocol', 'grpc', '--http2-prior-knowledge', `http://${address}`];

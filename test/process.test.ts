// The `twinapi serve` process as an operator meets it: starting, failing to start, stopping.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from './support/helpers.js';
import { spawnServe } from './support/serve-process.js';

/** A port some other program holds on 127.0.0.1 until the test file ends. */
async function takenPort(): Promise<number> {
  const holder = net.createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  after(() => holder.close());
  return (holder.address() as net.AddressInfo).port;
}

describe('a start that half-fails', () => {
  for (const server of ['grpc', 'rest'] as const) {
    it(
      `closes what it opened and exits 1 with a one-line reason when the ${server} port is taken`,
      { timeout: 20_000 },
      async () => {
        const port = await takenPort();
        const started = Date.now();
        const serve = spawnServe({ db: join(tempDir(), 'half.db'), [`${server}-port`]: String(port) });
        const code = await serve.exited;
        assert.equal(code, 1);
        assert.ok(Date.now() - started < 15_000, 'it exits by itself, without a signal');
        const lines = serve.stderr().trim().split('\n');
        assert.equal(lines.length, 1, serve.stderr());
        const name = server === 'grpc' ? 'gRPC' : 'REST';
        assert.match(
          lines[0]!,
          new RegExp(`^twinapi: ${name} cannot listen on 127\\.0\\.0\\.1:${port}: .*(EADDRINUSE|in use)`, 'i'),
        );
      },
    );
  }
});

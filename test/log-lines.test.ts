// Log lines leave once per turn of the event loop, in order, and a reader that goes away costs the
// service nothing (EPIPE: the lines are dropped, the process lives).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';

const CHILD = new URL('./support/fixtures/log-lines-child.ts', import.meta.url).pathname;

function startChild() {
  return spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('LogLines (stdout)', () => {
  it('writes every line, in order: a turn flushed early and the turn after it', async () => {
    const child = startChild();
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.stdin.end('go\n');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, err);
    assert.equal(out, '{"turn":0}\n{"turn":1}\n{"turn":2}\n{"after":"a failed write"}\n');
  });

  it('drops the lines and lives on when nothing reads them any more (EPIPE)', async () => {
    const child = startChild();
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.stdout.destroy(); // the log collector goes away
    child.stdin.end('go\n');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, err);
    assert.equal(err, 'alive\n');
  });
});

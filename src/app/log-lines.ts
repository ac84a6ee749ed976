// Where the JSON log lines go: a file descriptor (stdout), written once per turn of the event loop.
// Pino's own destination makes one write(2) per line; with the access log on, that system call was
// the largest cost the log added to a call (measured: ~4 µs of a GetUser's, where formatting the
// line is under 1 µs). The lines of one turn go out together, in order, before the loop waits again,
// so a quiet server writes each line at once; a busy one writes dozens in one call.
import { writeSync } from 'node:fs';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class LogLines {
  private static stdoutLines: LogLines | undefined;

  /** The process's one batcher of stdout: every logger writing there shares it, so their lines stay in order. */
  static stdout(): LogLines {
    return (LogLines.stdoutLines ??= new LogLines(1));
  }

  private pending: string[] = [];
  private scheduled = false;
  private readonly flushLater = () => this.flushSync();

  private constructor(private readonly fd: number) {
    // What is still pending when the process ends (an exit, an uncaught error) is written first.
    process.once('exit', this.flushLater);
  }

  /** Pino's stream interface: one line, newline included. */
  write(line: string): boolean {
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
    return true;
  }

  /** Writes every pending line now (pino calls it on `logger.flush()`). */
  flushSync(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    let bytes = Buffer.from(this.pending.join(''));
    this.pending = [];
    while (bytes.length > 0) {
      try {
        bytes = bytes.subarray(writeSync(this.fd, bytes));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A full pipe (a slow log collector): wait for it, as pino's synchronous destination does.
        if (code === 'EAGAIN') Atomics.wait(sleeper, 0, 0, 10);
        // Nothing reads the lines any more: they cannot be delivered, and the service goes on.
        else if (code === 'EPIPE') return;
        else throw error;
      }
    }
  }

  /** Pino calls it on `logger.flush(callback)`. */
  flush(callback?: (error?: Error) => void): void {
    this.flushSync();
    callback?.();
  }
}

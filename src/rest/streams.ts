import { unavailable } from '../domain/errors.js';

/**
 * The event streams a server holds open, so that shutdown can end each one. One registry, not a
 * listener per stream on a shared signal: thousands of streams would trip Node's listener warning.
 */
export class OpenStreams {
  private readonly ends = new Set<() => void>();
  private closed = false;
  /** Events written to the streams since the start. */
  delivered = 0;

  /** Shutdown has begun: new streams are refused, and readiness says so. */
  get closing(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.ends.size;
  }

  /** Holds a stream until its removal (returned) is called; UNAVAILABLE once shutdown has begun. */
  add(end: () => void): () => void {
    if (this.closed) throw unavailable('the server is shutting down');
    this.ends.add(end);
    return () => this.ends.delete(end);
  }

  closeAll(): void {
    this.closed = true;
    for (const end of [...this.ends]) end();
  }
}

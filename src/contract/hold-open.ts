import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/** TCP keepalive on a watch's connection: with the idle timeout lifted, this is what finds a dead peer. */
export const WATCH_KEEPALIVE_MS = 30_000;

/**
 * A watch (an SSE stream, a server stream, a subscription) may be quiet for hours: its connection is
 * not idle. The connection's idle timeout is lifted while the watch is open (the returned release
 * restores it), and TCP keepalive finds a peer that went away without closing. Every protocol the
 * REST port hosts holds its watches this way.
 */
export function holdOpen(request: IncomingMessage | Http2ServerRequest, idleTimeoutMs: number): () => void {
  const { socket } = request;
  // HTTP/2 streams share their session's socket (and its own idle timeout): only HTTP/1.1 owns one.
  if (!socket || request.httpVersionMajor !== 1) return () => undefined;
  socket.setTimeout(0);
  socket.setKeepAlive(true, WATCH_KEEPALIVE_MS);
  return () => {
    if (!socket.destroyed) socket.setTimeout(idleTimeoutMs);
  };
}

// The scrape endpoint: GET /metrics on its own port, so it is never exposed with the public API.
import { createServer } from 'node:http';
import type { Logger } from 'pino';

export interface Scrape {
  body: string;
  contentType: string;
}

export interface MetricsServer {
  name: 'metrics';
  address: string;
  port: number;
  shutdown(timeoutMs: number): Promise<void>;
}

/** Serves `scrape()` at /metrics (GET and HEAD); every other path is 404. A failed scrape is a 503. */
export async function startMetricsServer(
  options: { host: string; port: number; scrape: () => Promise<Scrape> },
  logger: Logger,
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    options.scrape().then(
      ({ body, contentType }) => response.writeHead(200, { 'content-type': contentType }).end(body),
      (error: unknown) => {
        logger.warn({ err: error }, 'metrics scrape failed');
        response
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
          .end(`scrape failed: ${String(error)}\n`);
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`metrics cannot listen on ${options.host}:${options.port}: ${error.message}`, { cause: error })),
    );
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    name: 'metrics',
    address: `http://${options.host}:${port}/metrics`,
    port,
    async shutdown() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

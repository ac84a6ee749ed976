// The web console (web/console, bundled by scripts/build-console.mjs): its page, its assets and the
// newest benchmark report, served by this server itself. Open routes: the page must load to ask for a token.
import type {} from '@fastify/swagger';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError, HttpErrorCode } from '../errors.js';

export interface ConsoleOptions {
  /** Where the build wrote the console (index.html and content-hashed assets). */
  consoleDir: string;
  /** Where `twinapi bench` writes its runs (`<timestamp>/report.html`). */
  benchResultsDir: string;
}

/** The routes, for the access hook: all of them are open. */
export const CONSOLE_ROUTES = ['/', '/console/:file', '/console/bench-report'] as const;

/** The types of the files a build writes; any other name is not served. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The page may load only its own assets and talk only to this origin; the benchmark report, framed
 * by it, is the one thing it may frame.
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The report is ours but needs none of the console's rights: a sandbox gives it an origin of its own. */
const REPORT_POLICY = 'sandbox allow-scripts allow-popups';

const INDEX = 'index.html';

export function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): void {
  const dir = resolve(options.consoleDir);
  const benchDir = resolve(options.benchResultsDir);
  const hidden = { schema: { hide: true } };

  app.get('/', hidden, async (_request, reply) => {
    const page = await readFile(join(dir, INDEX)).catch(() => undefined);
    if (!page) {
      throw new HttpError(HttpErrorCode.ROUTE_NOT_FOUND, 'the web console is not built: run `npm run build`');
    }
    // The page names its assets by content hash: it must be revalidated, they never change.
    return send(reply, page, CONTENT_TYPES['.html']!, 'no-cache', { 'content-security-policy': PAGE_POLICY });
  });

  app.get<{ Params: { file: string } }>('/console/:file', hidden, async (request, reply) => {
    const { file } = request.params;
    const type = file === INDEX ? undefined : CONTENT_TYPES[extname(file)];
    // Only a name the build wrote: compared with the directory's own listing, so no path leaves it.
    const written = type ? await readdir(dir).catch((): string[] => []) : [];
    const body = written.includes(file) ? await readFile(join(dir, file)).catch(() => undefined) : undefined;
    if (!type || !body) throw new HttpError(HttpErrorCode.ROUTE_NOT_FOUND, `no console file ${file}`);
    // Every file here but the page is named by its content's hash: a new build writes new names.
    return send(reply, body, type, 'public, max-age=31536000, immutable');
  });

  app.get('/console/bench-report', hidden, async (_request, reply) => {
    const report = await newestReport(benchDir);
    if (!report) {
      throw new HttpError(
        HttpErrorCode.ROUTE_NOT_FOUND,
        "no benchmark report yet: run `npm run bench` in the server's working directory",
      );
    }
    return send(reply, await readFile(report), CONTENT_TYPES['.html']!, 'no-cache', {
      'content-security-policy': REPORT_POLICY,
    });
  });
}

function send(
  reply: FastifyReply,
  body: Buffer,
  type: string,
  cacheControl: string,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply
    .type(type)
    .headers({ 'cache-control': cacheControl, 'x-content-type-options': 'nosniff', ...headers })
    .send(body);
}

/** The report.html written last among `<dir>/<run>/report.html`; undefined when there is none. */
async function newestReport(dir: string): Promise<string | undefined> {
  const runs = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let newest: { path: string; written: number } | undefined;
  for (const run of runs) {
    if (!run.isDirectory()) continue;
    const path = join(dir, run.name, 'report.html');
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && (!newest || info.mtimeMs > newest.written)) newest = { path, written: info.mtimeMs };
  }
  return newest?.path;
}

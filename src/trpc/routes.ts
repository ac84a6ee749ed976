// users.v1.UserService as tRPC procedures at /trpc, on the REST server's Fastify instance. The glue
// is ours (tRPC's fetch-style resolveResponse behind a Fastify route), not fastifyTRPCPlugin: the
// route must say `config: { rpc: true }`, so that the access hook hands the call its admission
// instead of refusing it in REST's JSON, and a response is written our way (no HTTP/1.1-only
// headers on HTTP/2; a client that left is a cancelled call, not an error). tRPC reads each body
// itself, up to readMaxBytes.
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getTRPCErrorFromUnknown, type TRPCError } from '@trpc/server';
import { incomingMessageToRequest } from '@trpc/server/adapters/node-http';
import { resolveResponse } from '@trpc/server/http';
import type { HostedSseOptions } from '../contract/hosted-rpc.js';
import type { UserService } from '../domain/user-service.js';
import { beginCall, failed, wasReported } from './call.js';
import { errorHeaders, failureOf, formatError } from './errors.js';
import { type UsersRouter, usersRouter } from './router.js';

export type { UsersRouter } from './router.js';

export type TrpcOptions = HostedSseOptions;

/** Where the procedures are: `/trpc/users.get`, `/trpc/users.get,users.list?batch=1`. */
export const TRPC_PREFIX = '/trpc/';

/** Calls one batched request may make: a batch is one request to the access gate and its rate limit. */
export const TRPC_MAX_BATCH = 100;

/** Telemetry's method label for a call that named no procedure of ours: a bounded set, never client text. */
const OTHER_METHOD = '_OTHER';

/** Headers HTTP/2 forbids (they are HTTP/1.1's connection management), which tRPC sets on its streams. */
const HTTP1_ONLY = new Set(['connection', 'transfer-encoding', 'keep-alive']);

type RawResponse = ServerResponse | Http2ServerResponse;

export async function trpcRoutes(app: FastifyInstance, service: UserService, options: TrpcOptions): Promise<void> {
  const router = usersRouter(service, options);
  const procedures = new Set(Object.keys(router._def.procedures));
  // A subscription's refusal is an error event of its stream (what tRPC's link reads); the rest are refused at once.
  const subscriptions = new Set(
    Object.entries(router._def.procedures as unknown as Record<string, { _def: { type: string } }>)
      .filter(([, procedure]) => procedure._def.type === 'subscription')
      .map(([path]) => path),
  );
  await app.register(async (scope) => {
    // tRPC reads every body itself (and answers a content type it does not take in its own terms).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    // The router's type describes these, not the OpenAPI document (which is REST's).
    scope.all(`${TRPC_PREFIX}*`, { config: { rpc: true }, schema: { hide: true } }, async (request, reply) => {
      reply.hijack();
      const url = new URL(request.url, 'http://twinapi');
      const path = url.pathname.slice(TRPC_PREFIX.length);
      // A caller the gate refuses learns nothing more (not which procedures exist, nor what they take).
      if (!subscriptions.has(path)) {
        const refused = await options.admission(request).then(
          () => undefined,
          (error: unknown) => getTRPCErrorFromUnknown(error),
        );
        if (refused) {
          // A batch is answered as tRPC answers one: an error per call, in order.
          const calls = url.searchParams.get('batch') === '1' ? path.split(',') : undefined;
          for (const call of calls ?? [path])
            failed(beginCall(options.telemetry, request, procedures.has(call) ? call : OTHER_METHOD), refused);
          return answerError(reply.raw, refused, calls);
        }
      }
      await serve(router, procedures, request, reply.raw, options);
    });
  });
}

async function serve(
  router: UsersRouter,
  procedures: ReadonlySet<string>,
  request: FastifyRequest,
  raw: RawResponse,
  options: TrpcOptions,
): Promise<void> {
  let response: Response;
  try {
    const req = incomingMessageToRequest(request.raw, raw, { maxBodySize: options.readMaxBytes });
    response = await resolveResponse({
      router,
      req,
      // Still percent-encoded: tRPC decodes it.
      path: new URL(req.url).pathname.slice(TRPC_PREFIX.length),
      error: null,
      createContext: async () => ({ request }),
      maxBatchSize: TRPC_MAX_BATCH,
      responseMeta: ({ errors }) => ({ headers: errorHeaders(errors) }),
      // Every error of the request: a procedure's was reported by its call; the rest (no such
      // procedure, a method it does not take, a batch tRPC cannot read) are reported here, once.
      onError: ({ error, path }) => {
        const failure = failureOf(error);
        if (failure.internal) {
          request.log.error({ err: error.cause ?? error, route: `${TRPC_PREFIX}*`, procedure: path }, 'call failed');
        }
        if (wasReported(error)) return;
        const method = path !== undefined && procedures.has(path) ? path : OTHER_METHOD;
        failed(beginCall(options.telemetry, request, method), error);
      },
    });
  } catch (error) {
    // Only what tRPC could not even begin (a Host header that makes no URL).
    return answerError(raw, getTRPCErrorFromUnknown(error));
  }
  await write(response, request, raw);
}

/** tRPC's answer on the raw response: status, headers (HTTP/2's subset), then the body as it streams. */
async function write(response: Response, request: FastifyRequest, raw: RawResponse): Promise<void> {
  const http2 = request.raw.httpVersionMajor === 2;
  raw.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (!(http2 && HTTP1_ONLY.has(name))) raw.setHeader(name, value);
  }
  if (response.body === null) {
    raw.end();
    return;
  }
  // A query's or mutation's answer is one JSON document: sent whole, with its length, in one write.
  // (Piped from the web stream it was chunked, several writes and a stream adapter per call: about
  // five times what the call itself cost.) Event streams and streamed batches are piped as they come.
  if (response.headers.get('content-type')?.startsWith('application/json')) {
    const body = Buffer.from(await response.arrayBuffer());
    raw.setHeader('content-length', body.length);
    raw.end(body);
    return;
  }
  try {
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), raw);
  } catch (error) {
    // The client left (a subscription's usual end): tRPC has cancelled its stream; nothing to say.
    if (request.raw.socket?.destroyed === false && !raw.destroyed) {
      request.log.error({ err: error, route: `${TRPC_PREFIX}*` }, 'could not write the response');
    }
    raw.destroy();
  }
}

/** `error` as tRPC's answer: `{error}`, or for a batch's `calls` one `{error}` per call. */
function answerError(raw: RawResponse, error: TRPCError, calls?: readonly string[]): void {
  const shape = formatError({ error, path: undefined });
  raw.statusCode = shape.data.httpStatus;
  for (const [name, value] of errorHeaders([error])) raw.setHeader(name, value);
  raw.setHeader('content-type', 'application/json');
  const body = calls ? calls.map((path) => ({ error: formatError({ error, path }) })) : { error: shape };
  raw.end(JSON.stringify(body));
}

// The error catalogue is one table, said three times: in the code (the catalogues and the
// adapters' mapping tables), in the README, and in the OpenAPI document. This holds them equal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminFetch } from './support/tokens.js';
import { status } from '@grpc/grpc-js';
import { ERROR_CATALOGUE, type ErrorDescription } from '../src/domain/errors.js';
import { GRPC_STATUS_OF } from '../src/grpc/errors.js';
import { CONNECT_CODE_OF } from '../src/connect/errors.js';
import { codeToHttpStatus, codeToString } from '@connectrpc/connect/protocol-connect';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_CODE_OF } from '../src/trpc/errors.js';
import { HTTP_ERROR_CATALOGUE, HTTP_STATUS_OF, type RestErrorCode } from '../src/rest/errors.js';
import { markdownTable } from './support/readme.js';
import { startStack } from './support/stack.js';

/** Every code with its description and statuses, as the code says. */
const catalogue: [RestErrorCode, ErrorDescription, string][] = [
  ...Object.entries(ERROR_CATALOGUE).map(
    ([code, d]) =>
      [code, d, `\`${status[GRPC_STATUS_OF[code as keyof typeof GRPC_STATUS_OF]]}\``] as [
        RestErrorCode,
        ErrorDescription,
        string,
      ],
  ),
  ...Object.entries(HTTP_ERROR_CATALOGUE).map(
    ([code, d]) => [code, d, '—'] as [RestErrorCode, ErrorDescription, string],
  ),
];

/** The Connect code and its HTTP status, as ConnectRPC answers a domain code; HTTP's own codes have none. */
function connectOf(code: RestErrorCode): string {
  if (!(code in CONNECT_CODE_OF)) return '—';
  const connect = CONNECT_CODE_OF[code as keyof typeof CONNECT_CODE_OF];
  return `\`${codeToString(connect)}\` (${codeToHttpStatus(connect)})`;
}

/** The tRPC code and the HTTP status tRPC answers it with; HTTP's own codes have none. */
function trpcOf(code: RestErrorCode): string {
  if (!(code in TRPC_CODE_OF)) return '—';
  const trpc = TRPC_CODE_OF[code as keyof typeof TRPC_CODE_OF];
  return `\`${trpc}\` (${getHTTPStatusCodeFromError(new TRPCError({ code: trpc }))})`;
}

interface OpenApi {
  components: {
    schemas: Record<string, { properties?: Record<string, { properties?: Record<string, { enum?: string[] }> }> }>;
  };
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>
  >;
}

describe('error catalogue', () => {
  it('is in the README: one row per code, with its meaning, its gRPC, Connect, tRPC and HTTP status and advice as the code has them', () => {
    const rows = markdownTable('Errors', 'code');
    assert.deepEqual(
      rows.map((r) => r.code),
      catalogue.map(([code]) => `\`${code}\``),
      'the same codes, in the same order',
    );
    for (const [code, description, grpcStatus] of catalogue) {
      const row = rows.find((r) => r.code === `\`${code}\``)!;
      assert.deepEqual(
        row,
        {
          code: `\`${code}\``,
          meaning: description.meaning,
          'gRPC status': grpcStatus,
          'Connect code (HTTP)': connectOf(code),
          'tRPC code (HTTP)': trpcOf(code),
          'HTTP status': String(HTTP_STATUS_OF[code]),
          'what the client should do': description.action,
        },
        code,
      );
    }
  });

  it('has the same status on gRPC, gRPC-Web and Connect: one code per domain code', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as (keyof typeof GRPC_STATUS_OF)[]) {
      assert.equal(Number(CONNECT_CODE_OF[code]), Number(GRPC_STATUS_OF[code]), code);
    }
  });

  it('is in the OpenAPI document: the Error schema names every code, and every status a client can see is documented as an Error', async () => {
    const { baseUrl } = await startStack();
    const document = (await (await adminFetch(`${baseUrl}/openapi.json`)).json()) as OpenApi;
    const codes = document.components.schemas.Error!.properties!.error!.properties!.code!.enum;
    assert.deepEqual([...(codes ?? [])].sort(), catalogue.map(([code]) => code).sort());

    const documented = new Set<number>();
    for (const [path, operations] of Object.entries(document.paths)) {
      // Health answers are status documents ({status, database}), 503 included: load balancers read them.
      if (path === '/healthz' || path === '/readyz') continue;
      for (const [method, operation] of Object.entries(operations)) {
        for (const [statusCode, response] of Object.entries(operation.responses)) {
          if (Number(statusCode) < 400) continue;
          assert.deepEqual(
            Object.keys(response.content ?? {}),
            ['application/json'],
            `${method} ${path} ${statusCode} is JSON`,
          );
          assert.match(
            response.content!['application/json']!.schema?.$ref ?? '',
            /Error$/,
            `${method} ${path} ${statusCode}`,
          );
          documented.add(Number(statusCode));
        }
      }
    }
    // CANCELLED's 499 is only ever in logs: the client has gone.
    const unseen: RestErrorCode[] = ['CANCELLED'];
    const visible = catalogue.filter(([code]) => !unseen.includes(code)).map(([code]) => HTTP_STATUS_OF[code]);
    assert.deepEqual(
      [...new Set(visible)].filter((s) => !documented.has(s)).sort(),
      [],
      'statuses no operation documents',
    );
  });
});

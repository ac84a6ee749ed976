// Domain errors in tRPC's terms: tRPC's own code (and the HTTP status tRPC gives it), with our code
// and the bad fields in the error's data (the router's errorFormatter is `formatError`).
import { type TRPC_ERROR_CODE_KEY, type TRPC_ERROR_CODE_NUMBER, TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { refusalHeaders } from '../contract/refusal-headers.js';
import { rpcStatusOf } from '../contract/rpc-status.js';
import { DomainError, ErrorCode, type FieldViolation } from '../domain/errors.js';

/** The tRPC code of each domain code: a new code does not build until it has one. */
export const TRPC_CODE_OF: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  [ErrorCode.INVALID_ARGUMENT]: 'BAD_REQUEST',
  [ErrorCode.USER_NOT_FOUND]: 'NOT_FOUND',
  [ErrorCode.EMAIL_ALREADY_EXISTS]: 'CONFLICT',
  // As gRPC's FAILED_PRECONDITION: the resume point the request depends on is gone.
  [ErrorCode.REVISION_EXPIRED]: 'PRECONDITION_FAILED',
  [ErrorCode.PRECONDITION_FAILED]: 'PRECONDITION_FAILED',
  [ErrorCode.PRECONDITION_REQUIRED]: 'PRECONDITION_REQUIRED',
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: 'UNPROCESSABLE_CONTENT',
  [ErrorCode.UNAUTHENTICATED]: 'UNAUTHORIZED',
  [ErrorCode.PERMISSION_DENIED]: 'FORBIDDEN',
  [ErrorCode.UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
  // The server's work ran out of time (REST's 504), not a client too slow to send (tRPC's TIMEOUT, 408).
  [ErrorCode.DEADLINE_EXCEEDED]: 'GATEWAY_TIMEOUT',
  [ErrorCode.CANCELLED]: 'CLIENT_CLOSED_REQUEST',
  [ErrorCode.TOO_MANY_STREAMS]: 'SERVICE_UNAVAILABLE',
  [ErrorCode.RATE_LIMITED]: 'TOO_MANY_REQUESTS',
  [ErrorCode.OVERLOADED]: 'SERVICE_UNAVAILABLE',
  [ErrorCode.INTERNAL]: 'INTERNAL_SERVER_ERROR',
};

/**
 * tRPC's own refusals of a request (before any procedure runs), by tRPC's code: the catalogue code
 * they are (REST's HTTP codes, the same words for the same faults) and the status name calls
 * report. Any other code of tRPC's own is INTERNAL.
 */
const PROTOCOL_FAILURES: Partial<Record<TRPC_ERROR_CODE_KEY, [errorType: string, status: string]>> = {
  // No procedure at that path: gRPC's answer to an unknown method.
  NOT_FOUND: ['ROUTE_NOT_FOUND', 'UNIMPLEMENTED'],
  // A query sent as POST, a mutation as GET, a subscription in a batch.
  METHOD_NOT_SUPPORTED: ['ROUTE_NOT_FOUND', 'UNIMPLEMENTED'],
  PARSE_ERROR: ['MALFORMED_BODY', 'INVALID_ARGUMENT'],
  PAYLOAD_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'RESOURCE_EXHAUSTED'],
  UNSUPPORTED_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'INVALID_ARGUMENT'],
  // A batch tRPC cannot read: inputs not an object, procedure types mixed, too many calls.
  BAD_REQUEST: ['MALFORMED_REQUEST', 'INVALID_ARGUMENT'],
};

/** A failure of tRPC's own protocol that the glue or a procedure found (a body that is not JSON). */
export class ProtocolError extends Error {
  constructor(
    readonly code: TRPC_ERROR_CODE_KEY,
    message: string,
  ) {
    super(message);
  }
}

/** How a call failed, in the catalogue's words and tRPC's. */
export interface Failure {
  /** The catalogue code: the domain's (`USER_NOT_FOUND`) or HTTP's (`ROUTE_NOT_FOUND`). */
  errorType: string;
  code: TRPC_ERROR_CODE_KEY;
  message: string;
  violations: readonly FieldViolation[];
  metadata: Readonly<Record<string, string>>;
  /** The gRPC-style status name the call is reported with. */
  status: string;
  /** Not the client's doing nor the domain's word: a bug, whose cause the server logs (never sends). */
  internal: boolean;
}

/** The first DomainError or ProtocolError in `error` and its causes. */
function oursIn(error: unknown): DomainError | ProtocolError | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof DomainError || e instanceof ProtocolError) return e;
  }
  return undefined;
}

export function failureOf(error: unknown): Failure {
  const ours = oursIn(error);
  if (ours instanceof DomainError) {
    const { code, message, violations, metadata } = ours;
    const internal = code === ErrorCode.INTERNAL;
    return {
      errorType: code,
      code: TRPC_CODE_OF[code],
      message,
      violations,
      metadata,
      status: rpcStatusOf(code),
      internal,
    };
  }
  const code = ours?.code ?? (error instanceof TRPCError ? error.code : 'INTERNAL_SERVER_ERROR');
  const protocol = PROTOCOL_FAILURES[code];
  if (protocol === undefined) {
    const { INTERNAL } = ErrorCode;
    return { ...failureOf(new DomainError(INTERNAL, 'internal error')), internal: true };
  }
  const [errorType, status] = protocol;
  const message = ours?.message ?? (error as TRPCError).message;
  return { errorType, code, message, violations: [], metadata: {}, status, internal: false };
}

/** What the error's `data` carries beside tRPC's own `code`, `httpStatus` and `path`. */
export interface TrpcErrorData {
  /** tRPC's code (`NOT_FOUND`): what tRPC clients read. */
  code: TRPC_ERROR_CODE_KEY;
  httpStatus: number;
  /** The procedure's path, when the error came from one. */
  path?: string;
  /** Our catalogue code (`USER_NOT_FOUND`, `ROUTE_NOT_FOUND`): the one to act on (docs/errors.md). */
  errorType: string;
  /** Each bad field, named as the domain names fields (`users[1].email`). */
  violations: FieldViolation[];
  /** Machine-readable facts: a batch item's `index`, `retry_after_seconds`, a PRECONDITION_FAILED's `revision`. */
  metadata: Record<string, string>;
}

export interface TrpcErrorShape {
  /** tRPC's JSON-RPC 2.0 number for `data.code`. */
  code: TRPC_ERROR_CODE_NUMBER;
  message: string;
  data: TrpcErrorData;
}

/**
 * The router's errorFormatter: every error tRPC sends (a procedure's, a refusal, tRPC's own, one
 * ending a subscription) in one shape. Its code is the catalogue's mapping, whatever tRPC had made
 * of the error (a DomainError reaches here as tRPC's INTERNAL_SERVER_ERROR with it as the cause);
 * `data.httpStatus` is what tRPC answers with. No stack; an internal error says no more than that.
 */
export function formatError({ error, path }: { error: TRPCError; path: string | undefined }): TrpcErrorShape {
  const failure = failureOf(error);
  return {
    code: TRPC_ERROR_CODES_BY_KEY[failure.code],
    message: failure.internal ? 'internal error' : failure.message,
    data: {
      code: failure.code,
      httpStatus: getHTTPStatusCodeFromError(new TRPCError({ code: failure.code })),
      ...(path === undefined ? {} : { path }),
      errorType: failure.errorType,
      violations: failure.violations.map(({ field, description }) => ({ field, description })),
      metadata: { ...failure.metadata },
    },
  };
}

/**
 * Headers an answer with these errors carries, as REST's do: Retry-After when a retry may succeed
 * later (the longest any call of a batch asks for), WWW-Authenticate on a refused token.
 */
export function errorHeaders(errors: readonly TRPCError[]): Headers {
  const headers = new Headers();
  for (const error of errors) {
    const failure = failureOf(error);
    for (const [name, value] of Object.entries(refusalHeaders(failure.errorType, failure.metadata))) {
      // A batch waits for its slowest refusal: the longest Retry-After wins.
      const kept = headers.get(name);
      if (name === 'retry-after' && kept !== null && Number(kept) >= Number(value)) continue;
      headers.set(name, value);
    }
  }
  return headers;
}

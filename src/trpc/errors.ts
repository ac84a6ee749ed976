// Domain errors in tRPC's terms: tRPC's own code (and the HTTP status tRPC gives it), with our code
// and the bad fields in the error's data (see the error formatter in routes.ts).
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { ErrorCode } from '../domain/errors.js';

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

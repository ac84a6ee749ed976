import { ErrorCode } from '../domain/errors.js';

/**
 * The HTTP status of each domain code, for every face served over plain HTTP that answers with one:
 * REST (beside HTTP's own codes), GraphQL's requests refused as a whole. A new code does not build
 * until it has one.
 */
export const DOMAIN_HTTP_STATUS_OF: Record<ErrorCode, number> = {
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.USER_NOT_FOUND]: 404,
  [ErrorCode.EMAIL_ALREADY_EXISTS]: 409,
  [ErrorCode.REVISION_EXPIRED]: 410,
  [ErrorCode.PRECONDITION_FAILED]: 412,
  [ErrorCode.PRECONDITION_REQUIRED]: 428,
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: 422,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.PERMISSION_DENIED]: 403,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.DEADLINE_EXCEEDED]: 504,
  // nginx's "client closed request": only logs ever see it, the client has gone.
  [ErrorCode.CANCELLED]: 499,
  [ErrorCode.TOO_MANY_STREAMS]: 503,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.OVERLOADED]: 503,
  [ErrorCode.INTERNAL]: 500,
};

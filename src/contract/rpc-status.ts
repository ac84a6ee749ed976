// The status name every RPC protocol's calls are reported with (metrics, access log, spans), in
// gRPC's words so that one dashboard reads them all. GraphQL and tRPC have no status code of their
// own that says as much: their calls are labelled with these.
import { ErrorCode } from '../domain/errors.js';

/** The gRPC status name of each domain code: a new code does not build until it has one. */
const RPC_STATUS_OF: Record<ErrorCode, string> = {
  [ErrorCode.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [ErrorCode.USER_NOT_FOUND]: 'NOT_FOUND',
  [ErrorCode.EMAIL_ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [ErrorCode.REVISION_EXPIRED]: 'FAILED_PRECONDITION',
  [ErrorCode.PRECONDITION_FAILED]: 'FAILED_PRECONDITION',
  [ErrorCode.PRECONDITION_REQUIRED]: 'FAILED_PRECONDITION',
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: 'INVALID_ARGUMENT',
  [ErrorCode.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [ErrorCode.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [ErrorCode.UNAVAILABLE]: 'UNAVAILABLE',
  [ErrorCode.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [ErrorCode.CANCELLED]: 'CANCELLED',
  [ErrorCode.TOO_MANY_STREAMS]: 'RESOURCE_EXHAUSTED',
  [ErrorCode.RATE_LIMITED]: 'RESOURCE_EXHAUSTED',
  [ErrorCode.OVERLOADED]: 'UNAVAILABLE',
  [ErrorCode.INTERNAL]: 'INTERNAL',
};

/** A call that succeeded is reported as `OK` (not a domain code: success has none). */
export const RPC_OK = 'OK';

/**
 * The gRPC-style status name of a domain code (`USER_NOT_FOUND` → `NOT_FOUND`): the status label of
 * a GraphQL or tRPC call that failed with it; a call that succeeded is `OK` ({@link RPC_OK}).
 */
export const rpcStatusOf = (code: ErrorCode): string => RPC_STATUS_OF[code];

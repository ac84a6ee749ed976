// Domain errors in the Connect and gRPC-Web protocols: ConnectRPC writes the code, the message and
// the details in each protocol's own form (Connect: an HTTP status and the error JSON with base64
// details; gRPC-Web: grpc-status, grpc-message and grpc-status-details-bin trailers).
import { Code, ConnectError } from '@connectrpc/connect';
import { ERROR_DOMAIN, ERROR_TYPE_KEY } from '../contract/errors.js';
import { type DomainError, ErrorCode, QUOTA_SUBJECT_KEY, RETRY_AFTER_KEY } from '../domain/errors.js';
import {
  BadRequestSchema,
  ErrorInfoSchema,
  QuotaFailureSchema,
  RetryInfoSchema,
} from '../gen/google/rpc/error_details_pb.js';

/** The Connect code of each domain code: a new code does not build until it has one. */
export const CONNECT_CODE_OF: Record<ErrorCode, Code> = {
  [ErrorCode.INVALID_ARGUMENT]: Code.InvalidArgument,
  [ErrorCode.USER_NOT_FOUND]: Code.NotFound,
  [ErrorCode.EMAIL_ALREADY_EXISTS]: Code.AlreadyExists,
  [ErrorCode.REVISION_EXPIRED]: Code.FailedPrecondition,
  [ErrorCode.PRECONDITION_FAILED]: Code.FailedPrecondition,
  [ErrorCode.PRECONDITION_REQUIRED]: Code.FailedPrecondition,
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: Code.InvalidArgument,
  [ErrorCode.UNAUTHENTICATED]: Code.Unauthenticated,
  [ErrorCode.PERMISSION_DENIED]: Code.PermissionDenied,
  [ErrorCode.UNAVAILABLE]: Code.Unavailable,
  [ErrorCode.DEADLINE_EXCEEDED]: Code.DeadlineExceeded,
  [ErrorCode.CANCELLED]: Code.Canceled,
  [ErrorCode.TOO_MANY_STREAMS]: Code.ResourceExhausted,
  [ErrorCode.RATE_LIMITED]: Code.ResourceExhausted,
  [ErrorCode.OVERLOADED]: Code.Unavailable,
  [ErrorCode.INTERNAL]: Code.Internal,
};

/** A code's name as gRPC spells it (`NOT_FOUND`): the status label of metrics and logs on every RPC protocol. */
export const codeName = (code: Code): string =>
  code === Code.Canceled ? 'CANCELLED' : Code[code].replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase();

/**
 * A domain error as a ConnectError: the mapped code, `error-type` (and `retry-after` when a retry
 * may succeed later), and the details gRPC sends: ErrorInfo, BadRequest for bad fields, QuotaFailure
 * and RetryInfo for limits.
 */
export function toConnectError(error: DomainError): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    { desc: ErrorInfoSchema, value: { reason: error.code, domain: ERROR_DOMAIN, metadata: { ...error.metadata } } },
  ];
  if (error.violations.length > 0) {
    const fieldViolations = error.violations.map((v) => ({ ...v, reason: error.code }));
    details.push({ desc: BadRequestSchema, value: { fieldViolations } });
  }
  const subject = error.metadata[QUOTA_SUBJECT_KEY];
  if (subject !== undefined) {
    const violations = [{ subject, description: error.metadata.quota ?? error.message }];
    details.push({ desc: QuotaFailureSchema, value: { violations } });
  }
  const headers = new Headers({ [ERROR_TYPE_KEY]: error.code });
  const retryAfter = error.metadata[RETRY_AFTER_KEY];
  if (retryAfter !== undefined) {
    details.push({ desc: RetryInfoSchema, value: { retryDelay: { seconds: BigInt(retryAfter), nanos: 0 } } });
    headers.set('retry-after', retryAfter);
  }
  return new ConnectError(error.message, CONNECT_CODE_OF[error.code], headers, details);
}

import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { type Any } from '../gen/google/protobuf/any.js';
import { BadRequest, ErrorInfo, QuotaFailure, RetryInfo } from '../gen/google/rpc/error_details.js';
import { Status } from '../gen/google/rpc/status.js';
import { type DomainError, ErrorCode, QUOTA_SUBJECT_KEY, RETRY_AFTER_KEY } from '../domain/errors.js';
import { asBuffer } from '../contract/wire.js';
import { ERROR_DOMAIN, ERROR_TYPE_KEY } from '../contract/errors.js';

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** The gRPC status of each domain code: a new code does not build until it has one. */
export const GRPC_STATUS_OF: Record<ErrorCode, status> = {
  [ErrorCode.INVALID_ARGUMENT]: status.INVALID_ARGUMENT,
  [ErrorCode.USER_NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.EMAIL_ALREADY_EXISTS]: status.ALREADY_EXISTS,
  [ErrorCode.REVISION_EXPIRED]: status.FAILED_PRECONDITION,
  [ErrorCode.PRECONDITION_FAILED]: status.FAILED_PRECONDITION,
  [ErrorCode.PRECONDITION_REQUIRED]: status.FAILED_PRECONDITION,
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: status.INVALID_ARGUMENT,
  [ErrorCode.UNAUTHENTICATED]: status.UNAUTHENTICATED,
  [ErrorCode.PERMISSION_DENIED]: status.PERMISSION_DENIED,
  [ErrorCode.UNAVAILABLE]: status.UNAVAILABLE,
  [ErrorCode.DEADLINE_EXCEEDED]: status.DEADLINE_EXCEEDED,
  [ErrorCode.CANCELLED]: status.CANCELLED,
  [ErrorCode.TOO_MANY_STREAMS]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.RATE_LIMITED]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.OVERLOADED]: status.UNAVAILABLE,
  [ErrorCode.INTERNAL]: status.INTERNAL,
};

const TYPE_URL = 'type.googleapis.com/';

function pack<T>(codec: { encode(m: T): { finish(): Uint8Array } }, typeName: string, message: T): Any {
  return { typeUrl: TYPE_URL + typeName, value: asBuffer(codec.encode(message).finish()) };
}

/**
 * A domain error as a gRPC status: the mapped code, `error-type` metadata,
 * and a google.rpc.Status with ErrorInfo (and BadRequest for bad fields).
 */
export function toStatus(error: DomainError): Partial<StatusObject> {
  const code = GRPC_STATUS_OF[error.code];
  const details = [
    pack(ErrorInfo, 'google.rpc.ErrorInfo', {
      reason: error.code,
      domain: ERROR_DOMAIN,
      metadata: { ...error.metadata },
    }),
  ];
  if (error.violations.length > 0) {
    const fieldViolations = error.violations.map((v) => ({ ...v, reason: error.code }));
    details.push(pack(BadRequest, 'google.rpc.BadRequest', { fieldViolations }));
  }
  const subject = error.metadata[QUOTA_SUBJECT_KEY];
  if (subject !== undefined) {
    const violations = [{ subject, description: error.metadata.quota ?? error.message }];
    details.push(pack(QuotaFailure, 'google.rpc.QuotaFailure', { violations }));
  }
  const retryAfter = error.metadata[RETRY_AFTER_KEY];
  if (retryAfter !== undefined) {
    details.push(pack(RetryInfo, 'google.rpc.RetryInfo', { retryDelay: { seconds: Number(retryAfter), nanos: 0 } }));
  }
  const metadata = new Metadata();
  metadata.set(ERROR_TYPE_KEY, error.code);
  metadata.set(STATUS_DETAILS_KEY, asBuffer(Status.encode({ code, message: error.message, details }).finish()));
  return { code, details: error.message, metadata };
}

export interface StatusDetails {
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
  retryInfo?: RetryInfo;
  quotaFailure?: QuotaFailure;
}

/** Decodes `grpc-status-details-bin` from a received error's metadata. */
export function readStatusDetails(metadata: Metadata | undefined): StatusDetails {
  const [raw] = metadata?.get(STATUS_DETAILS_KEY) ?? [];
  if (!Buffer.isBuffer(raw)) return {};
  const result: StatusDetails = {};
  for (const any of Status.decode(raw).details) {
    if (any.typeUrl === `${TYPE_URL}google.rpc.ErrorInfo`) result.errorInfo = ErrorInfo.decode(any.value);
    if (any.typeUrl === `${TYPE_URL}google.rpc.BadRequest`) result.badRequest = BadRequest.decode(any.value);
    if (any.typeUrl === `${TYPE_URL}google.rpc.RetryInfo`) result.retryInfo = RetryInfo.decode(any.value);
    if (any.typeUrl === `${TYPE_URL}google.rpc.QuotaFailure`) result.quotaFailure = QuotaFailure.decode(any.value);
  }
  return result;
}

/**
 * Every error the core raises carries one of these stable codes. Adapters map
 * a code to their protocol's status with a table, never by reading messages.
 */
export const ErrorCode = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  EMAIL_ALREADY_EXISTS: 'EMAIL_ALREADY_EXISTS',
  REVISION_EXPIRED: 'REVISION_EXPIRED',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  PRECONDITION_REQUIRED: 'PRECONDITION_REQUIRED',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  UNAVAILABLE: 'UNAVAILABLE',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  CANCELLED: 'CANCELLED',
  TOO_MANY_STREAMS: 'TOO_MANY_STREAMS',
  RATE_LIMITED: 'RATE_LIMITED',
  OVERLOADED: 'OVERLOADED',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What an error means and what a client should do about it: the catalogue docs/errors.md shows (a test keeps them equal). */
export interface ErrorDescription {
  meaning: string;
  action: string;
}

export const ERROR_CATALOGUE: Record<ErrorCode, ErrorDescription> = {
  INVALID_ARGUMENT: {
    meaning: 'a field of the request is invalid; the details name each bad field',
    action: 'fix the named fields; the same request will fail again',
  },
  USER_NOT_FOUND: {
    meaning: 'no user has this id',
    action: 'do not retry: the id is wrong or the user was deleted',
  },
  EMAIL_ALREADY_EXISTS: {
    meaning: 'another user has this email (compared case-insensitively)',
    action: 'use another email, or read the existing user',
  },
  REVISION_EXPIRED: {
    meaning: 'the revision to resume after is older than the change log keeps',
    action: 're-read the users you need, then watch from now',
  },
  PRECONDITION_FAILED: {
    meaning:
      'the user changed since the version the write was conditional on (If-Match / etag); `metadata.revision` is its revision now',
    action: 're-read the user, reapply the change to what it is now, and send the write with its new etag',
  },
  PRECONDITION_REQUIRED: {
    meaning: 'this server takes updates and deletes only with the version they apply to (--require-if-match)',
    action: "read the user first and send its etag (If-Match, or the request's etag field)",
  },
  IDEMPOTENCY_KEY_REUSED: {
    meaning: 'the Idempotency-Key / request_id was used by this caller for a create with other fields',
    action: 'use a new key for a new request; retry a request only with its own key and its own body',
  },
  UNAUTHENTICATED: {
    meaning:
      'the call carries no valid credentials (no bearer token, or one that does not verify), or its token expired while its watch was open',
    action: 'get a new token, then retry',
  },
  PERMISSION_DENIED: {
    meaning: 'the caller may not do this; `metadata.rule` names the rule',
    action: 'do not retry with the same credentials',
  },
  UNAVAILABLE: {
    meaning: 'the server is shutting down or cannot reach its database',
    action: 'retry with backoff, on another instance if you can; a watch resumes from its last revision',
  },
  DEADLINE_EXCEEDED: {
    meaning: 'the deadline passed before the work finished',
    action: 'a read can be retried with a longer deadline; a write may have committed: read before retrying it',
  },
  CANCELLED: {
    meaning: 'the client cancelled the call (or closed the connection)',
    action: 'nothing: the client asked for it; a cancelled write may have committed',
  },
  TOO_MANY_STREAMS: {
    meaning: 'the server holds as many watch streams as it may (--max-watch-streams)',
    action: 'retry after the Retry-After / RetryInfo delay, or on another instance',
  },
  RATE_LIMITED: {
    meaning: 'the caller is over its quota: calls per second, or open watch streams',
    action: 'slow down: retry after the Retry-After / RetryInfo delay; QuotaFailure / RateLimit-* say which quota',
  },
  OVERLOADED: {
    meaning: 'the server is too busy to start this call now (its event loop lags)',
    action: 'retry after the Retry-After / RetryInfo delay, with backoff',
  },
  INTERNAL: {
    meaning: 'an unexpected failure; the cause is logged by the server, never sent',
    action: 'retry once later; report it if it persists',
  },
};

/** One bad field of a request, named by its path in the contract (e.g. `users[2].email`). */
export interface FieldViolation {
  field: string;
  description: string;
}

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
    /** Machine-readable facts about the error, e.g. the index of a bad batch item. */
    readonly metadata: Readonly<Record<string, string>> = {},
    /** What caused it, for the server's log; never sent. */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/**
 * Any thrown value as a DomainError: itself if it is one, otherwise INTERNAL
 * with nothing of the cause in it (adapters log the cause, never send it).
 */
export function asDomainError(error: unknown): DomainError {
  return error instanceof DomainError ? error : new DomainError(ErrorCode.INTERNAL, 'internal error');
}

/** Bad fields one error reports at most: a request cannot make its answer larger than itself (or any). */
export const MAX_REPORTED_VIOLATIONS = 100;
/** Bad fields the message spells out; the details name up to MAX_REPORTED_VIOLATIONS. */
const SUMMARISED_VIOLATIONS = 10;

/**
 * A request with bad fields. `total`: how many there are, when more were found than are given
 * (the error then says so in its message and in `metadata.violations`).
 */
export function invalidArgument(violations: readonly FieldViolation[], total = violations.length): DomainError {
  const count = Math.max(total, violations.length);
  const reported = violations.slice(0, MAX_REPORTED_VIOLATIONS);
  const more = count - Math.min(count, SUMMARISED_VIOLATIONS);
  const shown = reported.slice(0, SUMMARISED_VIOLATIONS).map((v) => `${v.field}: ${v.description}`);
  const summary = shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
  const metadata: Record<string, string> = reported.length < count ? { violations: String(count) } : {};
  return new DomainError(ErrorCode.INVALID_ARGUMENT, `invalid request: ${summary}`, reported, metadata);
}

export function userNotFound(id: string): DomainError {
  return new DomainError(ErrorCode.USER_NOT_FOUND, `user ${id} not found`, [], { id });
}

/** `field` names the offending field, with its batch index when there is one. */
export function emailAlreadyExists(field: string, index?: number): DomainError {
  const metadata: Record<string, string> = index === undefined ? {} : { index: String(index) };
  return new DomainError(
    ErrorCode.EMAIL_ALREADY_EXISTS,
    `${field}: a user with this email already exists`,
    [{ field, description: 'a user with this email already exists' }],
    metadata,
  );
}

export function revisionExpired(afterRevision: number): DomainError {
  return new DomainError(
    ErrorCode.REVISION_EXPIRED,
    `revision ${afterRevision} is older than the change log keeps; resync and watch from now`,
    [],
    { after_revision: String(afterRevision) },
  );
}

/** Metadata key of the user's revision now, on PRECONDITION_FAILED. */
export const CURRENT_REVISION_KEY = 'revision';

/** A conditional write found the user at another version than `expected`. */
export function preconditionFailed(id: string, expected: number, current: number): DomainError {
  return new DomainError(
    ErrorCode.PRECONDITION_FAILED,
    `user ${id} is at revision ${current}, not ${expected}: it changed since it was read`,
    [],
    { id, expected_revision: String(expected), [CURRENT_REVISION_KEY]: String(current) },
  );
}

export function preconditionRequired(): DomainError {
  return new DomainError(
    ErrorCode.PRECONDITION_REQUIRED,
    'this server requires the version a write applies to: send the etag the user was read with (If-Match)',
  );
}

export function idempotencyKeyReused(key: string, field: string): DomainError {
  return new DomainError(
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
    `the idempotency key ${JSON.stringify(key)} was used for another request`,
    [{ field, description: 'was used by this caller for a create with other fields' }],
    { idempotency_key: key },
  );
}

/** Prefixes a batch item's field paths with its index, e.g. `email` → `users[3].email`. */
export function batchField(index: number, field: string): string {
  return `users[${index}].${field}`;
}

/** Metadata key of the seconds after which a retry may succeed (REST: Retry-After; gRPC: RetryInfo). */
export const RETRY_AFTER_KEY = 'retry_after_seconds';

export function tooManyStreams(limit: number, retryAfterSeconds: number): DomainError {
  return new DomainError(ErrorCode.TOO_MANY_STREAMS, `this server holds its maximum of ${limit} watch streams`, [], {
    [RETRY_AFTER_KEY]: String(retryAfterSeconds),
  });
}

/** Metadata key of the caller a quota applies to (gRPC: QuotaFailure.subject). */
export const QUOTA_SUBJECT_KEY = 'quota_subject';

/** Metadata key of the quota's size (REST: RateLimit-Limit). */
export const QUOTA_LIMIT_KEY = 'quota_limit';

/** `quota` says which quota, in words; `limit` its size; `subject` whose. */
export function rateLimited(quota: string, limit: number, subject: string, retryAfterSeconds: number): DomainError {
  return new DomainError(ErrorCode.RATE_LIMITED, `over quota: ${quota}`, [], {
    [RETRY_AFTER_KEY]: String(retryAfterSeconds),
    [QUOTA_SUBJECT_KEY]: subject,
    [QUOTA_LIMIT_KEY]: String(limit),
    quota,
  });
}

export function overloaded(retryAfterSeconds: number): DomainError {
  return new DomainError(ErrorCode.OVERLOADED, 'the server is too busy to take this call now', [], {
    [RETRY_AFTER_KEY]: String(retryAfterSeconds),
  });
}

/** The database (or another dependency) cannot serve now; a retry may succeed. */
export function unavailable(message: string, cause?: unknown): DomainError {
  return new DomainError(ErrorCode.UNAVAILABLE, message, [], {}, cause);
}

export function cancelled(): DomainError {
  return new DomainError(ErrorCode.CANCELLED, 'the client cancelled the call');
}

/** The caller's deadline passed before the work finished; the database work was stopped. */
export function deadlineExceeded(): DomainError {
  return new DomainError(ErrorCode.DEADLINE_EXCEEDED, 'the deadline passed before the database work finished');
}

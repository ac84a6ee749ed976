/**
 * Every error the core raises carries one of these stable codes. Adapters map
 * a code to their protocol's status with a table, never by reading messages.
 */
export const ErrorCode = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  EMAIL_ALREADY_EXISTS: 'EMAIL_ALREADY_EXISTS',
  REVISION_EXPIRED: 'REVISION_EXPIRED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  UNAVAILABLE: 'UNAVAILABLE',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

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
  ) {
    super(message);
  }
}

export function invalidArgument(violations: readonly FieldViolation[]): DomainError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  return new DomainError(ErrorCode.INVALID_ARGUMENT, `invalid request: ${summary}`, violations);
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

/** Prefixes a batch item's field paths with its index, e.g. `email` → `users[3].email`. */
export function batchField(index: number, field: string): string {
  return `users[${index}].${field}`;
}

/** The caller's deadline passed before the work finished; the database work was stopped. */
export function deadlineExceeded(): DomainError {
  return new DomainError(ErrorCode.DEADLINE_EXCEEDED, 'the deadline passed before the database work finished');
}

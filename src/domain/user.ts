import type { CreateUserRequest, User } from '../gen/users/v1/users.js';
import { UserRole } from '../gen/users/v1/users.js';
import { type FieldViolation, invalidArgument } from './errors.js';
import { newId } from './ids.js';

export type { CreateUserRequest, User, UserEvent } from '../gen/users/v1/users.js';
export { UserEvent_EventType as EventType, UserRole } from '../gen/users/v1/users.js';

export const LIMITS = {
  nameMaxLength: 200,
  emailMaxLength: 254,
  tagsMax: 32,
  tagMaxLength: 64,
  /** Users in one batch create. */
  batchMax: 10_000,
} as const;

/** The fields an update may change; everything else is server-owned. */
export const UPDATABLE_FIELDS = ['name', 'email', 'role', 'tags'] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];
export type UserPatch = Partial<Pick<User, UpdatableField>>;

// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is
// for a confirmation mail to prove, not a regex.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** Lower-cased form used for uniqueness and case-insensitive search. */
export function searchKey(value: string): string {
  return value.toLowerCase();
}

type Checker<T> = (value: T, violations: FieldViolation[], field: string) => void;

const checkName: Checker<string> = (name, violations, field) => {
  const length = [...name].length;
  if (length === 0) violations.push({ field, description: 'is required' });
  else if (length > LIMITS.nameMaxLength) {
    violations.push({ field, description: `must be at most ${LIMITS.nameMaxLength} characters` });
  }
};

const checkEmail: Checker<string> = (email, violations, field) => {
  if (email.length === 0) violations.push({ field, description: 'is required' });
  else if (email.length > LIMITS.emailMaxLength) {
    violations.push({ field, description: `must be at most ${LIMITS.emailMaxLength} characters` });
  } else if (!EMAIL.test(email)) violations.push({ field, description: 'is not a valid email address' });
};

const checkRole: Checker<UserRole> = (role, violations, field) => {
  if (role !== UserRole.USER_ROLE_USER && role !== UserRole.USER_ROLE_ADMIN) {
    violations.push({ field, description: 'must be USER_ROLE_USER or USER_ROLE_ADMIN' });
  }
};

const checkTags: Checker<string[]> = (tags, violations, field) => {
  if (tags.length > LIMITS.tagsMax) {
    violations.push({ field, description: `must hold at most ${LIMITS.tagsMax} tags` });
  }
  tags.forEach((tag, i) => {
    const length = [...tag].length;
    if (length === 0 || length > LIMITS.tagMaxLength) {
      violations.push({ field: `${field}[${i}]`, description: `must be 1 to ${LIMITS.tagMaxLength} characters` });
    }
  });
};

const CHECKERS: { [K in UpdatableField]: Checker<User[K]> } = {
  name: checkName,
  email: checkEmail,
  role: checkRole,
  tags: checkTags,
};

/** Trims what users type by accident; an unset role means the default role. */
function normalize(fields: UserPatch): UserPatch {
  const out: UserPatch = { ...fields };
  if (out.name !== undefined) out.name = out.name.trim();
  if (out.email !== undefined) out.email = out.email.trim();
  if (out.role === UserRole.USER_ROLE_UNSPECIFIED) out.role = UserRole.USER_ROLE_USER;
  return out;
}

function check(fields: UserPatch, fieldPath: (field: string) => string): FieldViolation[] {
  const violations: FieldViolation[] = [];
  for (const key of UPDATABLE_FIELDS) {
    const value = fields[key];
    if (value !== undefined) (CHECKERS[key] as Checker<typeof value>)(value, violations, fieldPath(key));
  }
  return violations;
}

/**
 * Checks every field of a new user at once and returns the violations, so a
 * batch can report all of its bad items together.
 */
export function checkNewUser(
  request: CreateUserRequest,
  fieldPath: (field: string) => string = (f) => f,
): { user: User; violations: FieldViolation[] } {
  const fields = normalize({ name: request.name, email: request.email, role: request.role, tags: request.tags });
  const now = new Date();
  const user: User = {
    id: newId(now.getTime()),
    name: fields.name ?? '',
    email: fields.email ?? '',
    role: fields.role ?? UserRole.USER_ROLE_USER,
    tags: fields.tags ?? [],
    createdAt: now,
    updatedAt: now,
  };
  return { user, violations: check(user, fieldPath) };
}

export function newUser(request: CreateUserRequest): User {
  const { user, violations } = checkNewUser(request);
  if (violations.length > 0) throw invalidArgument(violations);
  return user;
}

/** Applies a partial update; only fields present in `patch` change. */
export function applyPatch(current: User, patch: UserPatch): User {
  const unknown = Object.keys(patch).filter((k) => !(UPDATABLE_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw invalidArgument(unknown.map((field) => ({ field, description: 'cannot be updated' })));
  }
  if (Object.keys(patch).length === 0) {
    throw invalidArgument([{ field: 'update_mask', description: 'must name at least one field' }]);
  }
  const fields = normalize(patch);
  const violations = check(fields, (f) => f);
  if (violations.length > 0) throw invalidArgument(violations);
  return { ...current, ...fields, updatedAt: new Date() };
}

/** Refuses a batch as soon as it grows past the limit, so no adapter buffers more. */
export function checkBatchSize(count: number): void {
  if (count > LIMITS.batchMax) {
    throw invalidArgument([{ field: 'users', description: `must hold at most ${LIMITS.batchMax} users` }]);
  }
}

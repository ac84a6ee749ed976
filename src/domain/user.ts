import { type FieldViolation, invalidArgument } from './errors.js';
import { newId } from './ids.js';
import { characters, normalized, textProblem } from './text.js';

/** Roles, named as the contract names them (`users.v1.UserRole`), which is also how REST and the store spell them. */
export const ROLES = ['USER_ROLE_USER', 'USER_ROLE_ADMIN'] as const;
export type Role = (typeof ROLES)[number];
export const DEFAULT_ROLE: Role = 'USER_ROLE_USER';

import type { EventType } from './event-types.js';

export { EVENT_TYPES, type EventType, isEventType } from './event-types.js';

/** A user account as the domain keeps it: every field always present. */
export interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly role: Role;
  readonly tags: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** The change-log revision of the user's last change: it changes on every write (0 until stored). */
  readonly revision: number;
}

/** One entry of the change log. */
export interface UserEvent {
  readonly type: EventType;
  /** The user after the change (as it was just before, for a deletion). */
  readonly user: User;
  readonly timestamp: Date;
  /** Position in the change log: strictly increasing and gap-free across all users. */
  readonly revision: number;
}

/**
 * Not a change: a quiet watch's word that it has sent every change it selects up to `revision`
 * (named as the contract names it). Resuming after it misses nothing, and a watcher of a few users
 * keeps a resume point the change log still holds while others' changes go by.
 */
export interface Bookmark {
  readonly type: 'EVENT_TYPE_BOOKMARK';
  readonly revision: number;
}

/** What a watch yields: the changes it selects, and bookmarks while there are none. */
export type WatchEvent = UserEvent | Bookmark;

export const isBookmark = (event: WatchEvent): event is Bookmark => event.type === 'EVENT_TYPE_BOOKMARK';

/**
 * A new user as a client asks for it, not yet validated. `role` is whatever
 * the client sent (absent means the default); an unknown one is rejected.
 */
export interface NewUserInput {
  name: string;
  email: string;
  role?: string;
  tags?: readonly string[];
}

/** New values for some fields of a user, not yet validated; an absent one means its empty value (or the default role). */
export type UserChanges = Partial<NewUserInput>;

/**
 * A partial update: `fields` names what changes (as the contract names the
 * fields); only those are read from `changes`.
 */
export interface UserUpdate {
  fields: readonly string[];
  changes: UserChanges;
  /**
   * How this request names the domain's field paths in errors, e.g. gRPC's
   * `fields[1]` → `update_mask.paths[1]`; without it they are reported as they are.
   */
  fieldPath?: (field: string) => string;
}

export const LIMITS = {
  nameMaxLength: 200,
  emailMaxLength: 254,
  tagsMax: 32,
  tagMaxLength: 64,
  /** Users in one batch create. */
  batchMax: 10_000,
  /** A user id: ids are UUIDs (36 characters); anything longer is no id. */
  idMaxLength: 64,
  /** A name filter: no longer than a name can be. */
  filterMaxLength: 200,
  /** Offset pages reach this deep; cursor pages (page_token) reach every user. */
  offsetMax: 10_000,
  /** A page token as this service issues it. */
  pageTokenMaxLength: 512,
  /** User ids one watch may name (over all its requests); none means everyone. */
  watchIdsMax: 1000,
  /** An idempotency key (Idempotency-Key, request_id): visible ASCII. */
  idempotencyKeyMaxLength: 255,
} as const;

/** The fields an update may change; everything else is server-owned. */
export const UPDATABLE_FIELDS = ['name', 'email', 'role', 'tags'] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

const isUpdatable = (field: string): field is UpdatableField => (UPDATABLE_FIELDS as readonly string[]).includes(field);
export const isRole = (role: string): role is Role => (ROLES as readonly string[]).includes(role);

// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is
// for a confirmation mail to prove, not a regex.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

export { searchKey } from './text.js';

/** The validated, normalised value of each field. */
interface Fields {
  name: string;
  email: string;
  role: Role;
  tags: string[];
}

type Checker<K extends UpdatableField> = (
  value: UserChanges[K],
  report: (description: string, path?: string) => void,
) => Fields[K] | undefined;

/** Text a person typed: valid, NFC, trimmed; undefined (reported) when it is not text at all. */
function text(value: string, report: (description: string) => void): string | undefined {
  const problem = textProblem(value);
  if (problem) return void report(problem);
  return normalized(value).trim();
}

const checkName: Checker<'name'> = (value = '', report) => {
  const name = text(value, report);
  if (name === undefined) return;
  const length = characters(name);
  if (length === 0) report('is required');
  else if (length > LIMITS.nameMaxLength) report(`must be at most ${LIMITS.nameMaxLength} characters`);
  else return name;
};

const checkEmail: Checker<'email'> = (value = '', report) => {
  const email = text(value, report);
  if (email === undefined) return;
  if (email.length === 0) report('is required');
  else if (characters(email) > LIMITS.emailMaxLength) report(`must be at most ${LIMITS.emailMaxLength} characters`);
  else if (!EMAIL.test(email)) report('is not a valid email address');
  else return email;
};

const checkRole: Checker<'role'> = (role = DEFAULT_ROLE, report) => {
  if (isRole(role)) return role;
  report(`must be ${ROLES.join(' or ')}`);
};

const checkTags: Checker<'tags'> = (value = [], report) => {
  // Too many is one violation, not one per tag: a request cannot grow its own error.
  if (value.length > LIMITS.tagsMax) return void report(`must hold at most ${LIMITS.tagsMax} tags`);
  let ok = true;
  const tags = value.map((tag, i) => {
    const problem = textProblem(tag);
    const length = characters(tag);
    if (problem || length === 0 || length > LIMITS.tagMaxLength) {
      report(problem ?? `must be 1 to ${LIMITS.tagMaxLength} characters`, `[${i}]`);
      ok = false;
    }
    return normalized(tag);
  });
  return ok ? tags : undefined;
};

const CHECKERS: { [K in UpdatableField]: Checker<K> } = {
  name: checkName,
  email: checkEmail,
  role: checkRole,
  tags: checkTags,
};

/** Checks and normalises the given fields, collecting a violation per bad one. */
function check<K extends UpdatableField>(
  fields: readonly K[],
  values: UserChanges,
  fieldPath: (field: string) => string,
  violations: FieldViolation[],
): Partial<Fields> {
  const out: Partial<Record<UpdatableField, unknown>> = {};
  for (const field of fields) {
    const report = (description: string, suffix = '') =>
      violations.push({ field: fieldPath(field + suffix), description });
    out[field] = (CHECKERS[field] as Checker<UpdatableField>)(values[field], report);
  }
  return out as Partial<Fields>;
}

/**
 * Checks every field of a new user at once and returns the violations, so a
 * batch can report all of its bad items together.
 */
export function checkNewUser(
  input: NewUserInput,
  fieldPath: (field: string) => string = (f) => f,
): { user: User; violations: FieldViolation[] } {
  const violations: FieldViolation[] = [];
  const fields = check(UPDATABLE_FIELDS, input, fieldPath, violations);
  const now = new Date();
  const user: User = {
    id: newId(now.getTime()),
    name: fields.name ?? '',
    email: fields.email ?? '',
    role: fields.role ?? DEFAULT_ROLE,
    tags: fields.tags ?? [],
    createdAt: now,
    updatedAt: now,
    revision: 0,
  };
  return { user, violations };
}

export function newUser(input: NewUserInput): User {
  const { user, violations } = checkNewUser(input);
  if (violations.length > 0) throw invalidArgument(violations);
  return user;
}

/**
 * Checks an update before any I/O: it names at least one field, only
 * updatable ones, each with a valid value. Returns a function that applies it.
 */
export function checkUpdate(update: UserUpdate): (current: User) => User {
  const fieldPath = update.fieldPath ?? ((f: string) => f);
  const violations: FieldViolation[] = [];
  if (update.fields.length === 0) {
    violations.push({
      field: fieldPath('fields'),
      description: `must name at least one of ${UPDATABLE_FIELDS.join(', ')}`,
    });
  }
  update.fields.forEach((field, i) => {
    if (!isUpdatable(field)) {
      violations.push({
        field: fieldPath(`fields[${i}]`),
        description: `"${field}" is not an updatable field (${UPDATABLE_FIELDS.join(', ')})`,
      });
    }
  });
  const named = [...new Set(update.fields.filter(isUpdatable))];
  const changes = check(named, update.changes, fieldPath, violations);
  if (violations.length > 0) throw invalidArgument(violations);
  return (current) => ({ ...current, ...changes, updatedAt: new Date() });
}

/** Refuses a batch as soon as it grows past the limit, so no adapter buffers more. */
export function checkBatchSize(count: number): void {
  if (count > LIMITS.batchMax) {
    throw invalidArgument([{ field: 'users', description: `must hold at most ${LIMITS.batchMax} users` }]);
  }
}

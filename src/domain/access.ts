// Who may do what: the same rules for every protocol, in the core.
import { DomainError, ErrorCode } from './errors.js';
import type { User, UserEvent, UserUpdate } from './user.js';

/** What a caller's credentials make it: an admin, or a user acting as itself. */
export const PRINCIPAL_ROLES = ['admin', 'user'] as const;
export type PrincipalRole = (typeof PRINCIPAL_ROLES)[number];

/** An authenticated caller. For a `user`, `subject` is its own user id. */
export interface Principal {
  readonly subject: string;
  readonly role: PrincipalRole;
  /** When its credentials expire (epoch ms; a bearer token's `exp`): a watch still open then ends. Absent: never. */
  readonly expiresAt?: number;
}

export const isPrincipalRole = (role: unknown): role is PrincipalRole =>
  typeof role === 'string' && (PRINCIPAL_ROLES as readonly string[]).includes(role);

/**
 * The rules, by name; each denial names its rule (PERMISSION_DENIED, metadata.rule).
 * An admin may do everything. A user may read every user (emails but its own hidden), watch every
 * change (the same emails hidden), update and delete only itself, and never change a role.
 */
export const RULES = {
  createRequiresAdmin: 'only an admin may create users',
  updateSelfOnly: 'a user may update only itself',
  deleteSelfOnly: 'a user may delete only itself',
  roleRequiresAdmin: 'only an admin may change a role',
} as const;
export type Rule = keyof typeof RULES;

export function permissionDenied(rule: Rule): DomainError {
  return new DomainError(ErrorCode.PERMISSION_DENIED, RULES[rule], [], { rule });
}

const isAdmin = (principal: Principal | undefined) => principal === undefined || principal.role === 'admin';

/** Admin-only operations (creating users, one or a batch). */
export function requireAdmin(principal: Principal | undefined, rule: Rule): void {
  if (!isAdmin(principal)) throw permissionDenied(rule);
}

/** Whether `principal` may change user `id` (its own record, unless an admin); `rule` names the denial. */
export function mayChange(principal: Principal | undefined, id: string): boolean {
  return isAdmin(principal) || principal?.subject === id;
}

/** A user's update may not touch its role. */
export function checkUpdateRights(principal: Principal | undefined, update: UserUpdate): void {
  if (!isAdmin(principal) && update.fields.includes('role')) throw permissionDenied('roleRequiresAdmin');
}

/** A user as `principal` may see it: another user's email reads as empty to a non-admin. */
export function visible(user: User, principal: Principal | undefined): User {
  if (isAdmin(principal) || principal?.subject === user.id) return user;
  return { ...user, email: '' };
}

export function visibleEvent(event: UserEvent, principal: Principal | undefined): UserEvent {
  const user = visible(event.user, principal);
  return user === event.user ? event : { ...event, user };
}

/** What ends a watch whose caller's credentials expired while it was open. */
export function credentialsExpired(): DomainError {
  return new DomainError(
    ErrorCode.UNAUTHENTICATED,
    'the token expired while the watch was open: resume after your last revision with a new token',
  );
}

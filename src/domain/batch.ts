import {
  batchField,
  emailAlreadyExists,
  type FieldViolation,
  invalidArgument,
  MAX_REPORTED_VIOLATIONS,
} from './errors.js';
import { checkNewUser, LIMITS, type NewUserInput, searchKey, type User } from './user.js';

/**
 * A batch create as it arrives, one item at a time: each item is checked on arrival and only the
 * checked user is kept (and at most MAX_REPORTED_VIOLATIONS of the bad fields, with their count),
 * so a stream of 10,000 items of 4 MiB never sits in memory. Past the batch limit `add` fails at
 * once and the caller stops reading. All or nothing: `users()` refuses the batch if any item was bad.
 */
export class NewUsersBatch {
  private readonly checked: User[] = [];
  private readonly violations: FieldViolation[] = [];
  private violationCount = 0;
  private readonly emails = new Map<string, number>();
  private repeated: { index: number } | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(input: NewUserInput): void {
    const index = this.count++;
    if (this.count > LIMITS.batchMax) {
      throw invalidArgument([{ field: 'users', description: `must hold at most ${LIMITS.batchMax} users` }]);
    }
    const { user, violations } = checkNewUser(input, (field) => batchField(index, field));
    if (violations.length > 0) {
      this.violationCount += violations.length;
      this.violations.push(...violations.slice(0, MAX_REPORTED_VIOLATIONS - this.violations.length));
      return;
    }
    const key = searchKey(user.email);
    if (this.emails.has(key)) this.repeated ??= { index };
    else this.emails.set(key, index);
    this.checked.push(user);
  }

  /** The checked users, or the batch's first problem: bad fields first, then a repeated email. */
  users(): User[] {
    if (this.violationCount > 0) throw invalidArgument(this.violations, this.violationCount);
    if (this.repeated) throw emailAlreadyExists(batchField(this.repeated.index, 'email'), this.repeated.index);
    return this.checked;
  }
}

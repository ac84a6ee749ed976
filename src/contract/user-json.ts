import type { User } from '../domain/user.js';
import { etagOf } from './consistency.js';
import { isoTimestamp } from './timestamps.js';

/**
 * A user in the proto3 JSON mapping of `users.v1.User`, as every JSON face sends it (REST, tRPC):
 * lowerCamelCase names, the role by name, RFC 3339 timestamps, and the int64 revision as digits in a
 * string, which no JSON reader rounds.
 */
export interface UserJson {
  id: string;
  name: string;
  email: string;
  role: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  /** The change-log revision of this version: int64, as a decimal string. */
  revision: string;
  /** This version's entity tag (`"r<revision>"`): what a conditional write sends (If-Match, `etag`). */
  etag: string;
}

export const userToJson = (user: User): UserJson => ({
  id: user.id,
  name: user.name,
  email: user.email,
  role: user.role,
  tags: [...user.tags],
  createdAt: isoTimestamp(user.createdAt.getTime()),
  updatedAt: isoTimestamp(user.updatedAt.getTime()),
  revision: String(user.revision),
  etag: etagOf(user.revision),
});

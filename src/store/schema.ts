import type { Generated } from 'kysely';

/** Column names match the contract's field names (snake_case), one name everywhere. */
export interface UsersTable {
  id: string;
  name: string;
  /** Lower-cased name, for case-insensitive `filter`. */
  name_key: string;
  /** The one- and two-character substrings of `name_key`, as words (domain/text.ts `nameGrams`), for short filters. */
  name_grams: string;
  email: string;
  /** Lower-cased email; its unique index is what makes emails unique. */
  email_key: string;
  /** The UserRole enum name, e.g. USER_ROLE_ADMIN. */
  role: string;
  /** JSON array of strings. */
  tags: string;
  /** Milliseconds since the epoch. */
  created_at: number;
  updated_at: number;
  /** The change-log revision of the user's last change (0 for rows older than the column). */
  revision: number;
}

export interface UserEventsTable {
  revision: number;
  /** The EventType enum name, e.g. EVENT_TYPE_CREATED. */
  type: string;
  user_id: string;
  /** JSON of the user row after the change (before it, for a deletion). */
  user: string;
  occurred_at: number;
}

/** One row (id = 1): the head of the change log, which survives pruning. */
export interface ChangeLogStateTable {
  id: Generated<number>;
  head_revision: number;
  /** How many users there are, kept by every insert and delete in its own transaction. */
  user_count: number;
}

/** Creates that named an idempotency key: what a retry with the same key answers, per caller. */
export interface IdempotencyKeysTable {
  /** Whose key: the principal's subject ('' for the process's own calls). */
  subject: string;
  key: string;
  /** A digest of the request's fields: the same key with other fields is refused. */
  fingerprint: string;
  /** JSON array of the created users' rows, as the first call answered. */
  result: string;
  /** Milliseconds since the epoch; pruned after --idempotency-key-ttl-hours. */
  created_at: number;
}

export interface Database {
  idempotency_keys: IdempotencyKeysTable;
  users: UsersTable;
  user_events: UserEventsTable;
  change_log_state: ChangeLogStateTable;
}

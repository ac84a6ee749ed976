import {
  EVENT_TYPES,
  type EventType,
  isRole,
  type Role,
  searchKey,
  type User,
  type UserEvent,
} from '../domain/user.js';
import { nameGrams } from '../domain/text.js';
import type { UserEventsTable, UsersTable } from './schema.js';

export function userToRow(user: User): UsersTable {
  const nameKey = searchKey(user.name);
  return {
    id: user.id,
    name: user.name,
    name_key: nameKey,
    name_grams: nameGrams(nameKey),
    email: user.email,
    email_key: searchKey(user.email),
    role: user.role,
    tags: JSON.stringify(user.tags),
    created_at: user.createdAt.getTime(),
    updated_at: user.updatedAt.getTime(),
    revision: user.revision,
  };
}

/** A user's columns as reads return them: what a User is made of, not the keys and grams that only indexes and filters read. */
export type UserRow = Omit<UsersTable, 'name_grams' | 'name_key' | 'email_key'>;

export const USER_COLUMNS = [
  'id',
  'name',
  'email',
  'role',
  'tags',
  'created_at',
  'updated_at',
  'revision',
] as const satisfies readonly (keyof UserRow)[];

/** A row read as values (better-sqlite3's raw rows), in USER_COLUMNS' order, as a UserRow. */
export const userRowFromValues = (values: unknown[]): UserRow => ({
  id: values[0] as string,
  name: values[1] as string,
  email: values[2] as string,
  role: values[3] as string,
  tags: values[4] as string,
  created_at: values[5] as number,
  updated_at: values[6] as number,
  revision: values[7] as number,
});

/** The change log's columns, in the order reads and inserts name them. */
export const EVENT_COLUMNS = [
  'revision',
  'type',
  'user_id',
  'user',
  'occurred_at',
] as const satisfies readonly (keyof UserEventsTable)[];

/** An event row read as values, in EVENT_COLUMNS' order. */
export const eventRowFromValues = (values: unknown[]): UserEventsTable => ({
  revision: values[0] as number,
  type: values[1] as string,
  user_id: values[2] as string,
  user: values[3] as string,
  occurred_at: values[4] as number,
});

export function rowToUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    role: known(row.role, isRole, 'role'),
    tags: JSON.parse(row.tags) as string[],
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
    revision: Number(row.revision ?? 0),
  };
}

/** The change log's row of `event`; `row`: the user's row, when the write has made it already. */
export function eventToRow(event: UserEvent, row: UsersTable = userToRow(event.user)): UserEventsTable {
  return {
    revision: event.revision,
    type: event.type,
    user_id: event.user.id,
    user: JSON.stringify(loggedRow(row)),
    occurred_at: event.timestamp.getTime(),
  };
}

/** A user as the change log keeps it: its row, less the grams. */
function loggedRow(row: UsersTable): Omit<UsersTable, 'name_grams'> {
  const { name_grams: _, ...logged } = row;
  return logged;
}

export function rowToEvent(row: UserEventsTable): UserEvent {
  return {
    revision: Number(row.revision),
    type: known(row.type, isEventType, 'event type'),
    // The event's revision is the user's: rows logged before users had a revision column lack it.
    user: { ...rowToUser(JSON.parse(row.user) as UserRow), revision: Number(row.revision) },
    timestamp: new Date(Number(row.occurred_at)),
  };
}

const isEventType = (type: string): type is EventType => (EVENT_TYPES as readonly string[]).includes(type);

/** The store wrote these names itself: anything else means the row was changed behind its back. */
function known<T extends Role | EventType>(value: string, is: (v: string) => v is T, what: string): T {
  if (!is(value)) throw new Error(`the database holds an unknown ${what}: ${value}`);
  return value;
}

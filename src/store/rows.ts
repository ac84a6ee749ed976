import {
  EVENT_TYPES,
  type EventType,
  isRole,
  type Role,
  searchKey,
  type User,
  type UserEvent,
} from '../domain/user.js';
import type { UserEventsTable, UsersTable } from './schema.js';

export function userToRow(user: User): UsersTable {
  return {
    id: user.id,
    name: user.name,
    name_key: searchKey(user.name),
    email: user.email,
    email_key: searchKey(user.email),
    role: user.role,
    tags: JSON.stringify(user.tags),
    created_at: user.createdAt.getTime(),
    updated_at: user.updatedAt.getTime(),
    revision: user.revision,
  };
}

export function rowToUser(row: UsersTable): User {
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

export function eventToRow(event: UserEvent): UserEventsTable {
  return {
    revision: event.revision,
    type: event.type,
    user_id: event.user.id,
    user: JSON.stringify(userToRow(event.user)),
    occurred_at: event.timestamp.getTime(),
  };
}

export function rowToEvent(row: UserEventsTable): UserEvent {
  return {
    revision: Number(row.revision),
    type: known(row.type, isEventType, 'event type'),
    // The event's revision is the user's: rows logged before users had a revision column lack it.
    user: { ...rowToUser(JSON.parse(row.user) as UsersTable), revision: Number(row.revision) },
    timestamp: new Date(Number(row.occurred_at)),
  };
}

const isEventType = (type: string): type is EventType => (EVENT_TYPES as readonly string[]).includes(type);

/** The store wrote these names itself: anything else means the row was changed behind its back. */
function known<T extends Role | EventType>(value: string, is: (v: string) => v is T, what: string): T {
  if (!is(value)) throw new Error(`the database holds an unknown ${what}: ${value}`);
  return value;
}

import { EventType, type User, type UserEvent, UserRole } from '../domain/user.js';
import type { UserEventsTable, UsersTable } from './schema.js';

export function userToRow(user: User): UsersTable {
  return {
    id: user.id,
    name: user.name,
    name_key: user.name.toLowerCase(),
    email: user.email,
    email_key: user.email.toLowerCase(),
    role: UserRole[user.role],
    tags: JSON.stringify(user.tags),
    created_at: user.createdAt!.getTime(),
    updated_at: user.updatedAt!.getTime(),
  };
}

export function rowToUser(row: UsersTable): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    role: UserRole[row.role as keyof typeof UserRole],
    tags: JSON.parse(row.tags) as string[],
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
  };
}

export function eventToRow(event: UserEvent): UserEventsTable {
  const user = event.user!;
  return {
    revision: event.revision,
    type: EventType[event.type],
    user_id: user.id,
    user: JSON.stringify(userToRow(user)),
    occurred_at: event.timestamp!.getTime(),
  };
}

export function rowToEvent(row: UserEventsTable): UserEvent {
  return {
    revision: Number(row.revision),
    type: EventType[row.type as keyof typeof EventType],
    user: rowToUser(JSON.parse(row.user) as UsersTable),
    timestamp: new Date(Number(row.occurred_at)),
  };
}

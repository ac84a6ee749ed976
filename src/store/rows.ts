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

export function eventToRow(event: UserEvent): UserEventsTable {
  return {
    revision: event.revision,
    type: event.type,
    user_id: event.user.id,
    user: JSON.stringify(loggedRow(event.user)),
    occurred_at: event.timestamp.getTime(),
  };
}

/** A user as the change log keeps it: its row, less the grams. */
function loggedRow(user: User): Omit<UsersTable, 'name_grams'> {
  const { name_grams: _, ...row } = userToRow(user);
  return row;
}

/**
 * The one- and two-character substrings of a name's search key, each as one word of letters and
 * digits (`g` and the code points in hex: "qz" is `g71x7a`) that any full-text tokenizer keeps
 * whole: what the gram index looks up the filters too short for a trigram index in.
 */
export function nameGrams(key: string): string {
  const points = codePoints(key);
  const grams = new Set<string>();
  points.forEach((point, i) => {
    grams.add(gram([point]));
    if (i + 1 < points.length) grams.add(gram([point, points[i + 1]!]));
  });
  return [...grams].join(' ');
}

/** The word `nameGrams` writes for `key`, a search key of one or two characters. */
export function gramOf(key: string): string {
  return gram(codePoints(key));
}

const codePoints = (text: string) => Array.from(text, (c) => c.codePointAt(0)!.toString(16));
const gram = (points: readonly string[]) => `g${points.join('x')}`;

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

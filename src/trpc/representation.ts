// Users and events as the tRPC procedures return them: plain JSON (no data transformer), so any HTTP
// client reads them. The same proto3 JSON form REST sends: lowerCamelCase, the role and event type
// by name, RFC 3339 times, and revisions (int64) as digits in a string, which no JSON reader rounds.
import { isoTimestamp } from '../contract/timestamps.js';
import { type UserJson, userToJson } from '../contract/user-json.js';
import { type Bookmark, isBookmark, type UserEvent, type WatchEvent } from '../domain/user.js';

export { type UserJson, userToJson } from '../contract/user-json.js';

/** A change: the user after it (as it was just before, for a deletion). */
export interface ChangeJson {
  type: UserEvent['type'];
  revision: string;
  timestamp: string;
  user: UserJson;
}

/** Not a change: the watch has sent every change it selects up to `revision`. */
export interface BookmarkJson {
  type: Bookmark['type'];
  revision: string;
}

export type EventJson = ChangeJson | BookmarkJson;

export function eventToJson(event: WatchEvent): EventJson {
  if (isBookmark(event)) return { type: event.type, revision: String(event.revision) };
  return {
    type: event.type,
    revision: String(event.revision),
    timestamp: isoTimestamp(event.timestamp.getTime()),
    user: userToJson(event.user),
  };
}

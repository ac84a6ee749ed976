// Entity tags of user versions. A user's revision changes with every write, so it names a version:
// the tag every representation carries (`User.etag`, REST's body) is the revision, quoted. REST's
// ETag header is per representation (`W/"<id>-r<revision>-<media>"`, so caches keep JSON and
// protobuf apart); a conditional write is about the version, not the bytes, so either names it.
import { invalidArgument } from '../domain/errors.js';
import type { IdempotencyKey, WriteCondition } from '../domain/user-service.js';

/** The header (REST) and response metadata (gRPC, Connect) naming the revision a listing reflects. */
export const REVISION_HEADER = 'x-revision';

/** The entity tag of the user version at `revision`: `"r<revision>"`. */
export const etagOf = (revision: number): string => `"r${revision}"`;

const OURS = /^(?:W\/)?"(?:r(\d{1,16})|[^"]*-r(\d{1,16})-[^"]*)"$/;

/** The revision an entity tag of ours names; undefined when `tag` is not one of ours. */
export function revisionOfEtag(tag: string): number | undefined {
  const match = OURS.exec(tag.trim());
  const digits = match?.[1] ?? match?.[2];
  if (digits === undefined) return undefined;
  const revision = Number(digits);
  return Number.isSafeInteger(revision) ? revision : undefined;
}

/** A CreateUserRequest's `request_id` as the domain takes an idempotency key; none when empty. */
export const requestIdOf = ({ requestId }: { requestId: string }): IdempotencyKey | undefined =>
  requestId === '' ? undefined : { key: requestId, field: 'request_id' };

/**
 * The condition a request's entity tag sets on a write (REST If-Match, the etag field of
 * UpdateUserRequest and DeleteUserRequest): none for an empty one, any version for `*`, the
 * revision it names for one of ours; INVALID_ARGUMENT on `field` for anything else.
 */
export function conditionOf(tag: string | undefined, field: string): WriteCondition {
  const text = tag?.trim() ?? '';
  if (text === '') return {};
  if (text === '*') return { anyVersion: true };
  const revision = revisionOfEtag(text);
  if (revision === undefined) {
    throw invalidArgument([
      { field, description: 'must be one entity tag this server gave (a user\'s etag, "r<revision>"), or *' },
    ]);
  }
  return { ifRevision: revision };
}

/** A watch request's bookmark choice as the domain takes it: absent leaves the server's default (on). */
export const bookmarksOf = ({ bookmarks }: { bookmarks?: boolean }): { bookmarks?: boolean } =>
  bookmarks === undefined ? {} : { bookmarks };

/** WatchUsers' later requests only add users: where to resume, and bookmarks, are the first's to say. */
export function onlyInFirstRequest(request: { afterRevision?: unknown; bookmarks?: boolean }): void {
  const fields = [
    ...(request.afterRevision === undefined ? [] : ['after_revision']),
    ...(request.bookmarks === undefined ? [] : ['bookmarks']),
  ];
  if (fields.length > 0) {
    throw invalidArgument(fields.map((field) => ({ field, description: 'only the first request may carry it' })));
  }
}

import { ErrorCode, MAX_REPORTED_VIOLATIONS } from '../domain/errors.js';
import { PAGE_SIZE } from '../domain/pagination.js';
import { LIMITS, ROLES } from '../domain/user.js';
import { HttpErrorCode } from './errors.js';
import { USER_FIELDS } from './representation.js';

// One set of schemas validates requests, serializes JSON responses and writes
// the OpenAPI document. Shapes and types live here; the domain's rules (lengths,
// email syntax, uniqueness) are checked by the domain and only described here.

const role = { type: 'string', enum: ROLES, description: 'Defaults to USER_ROLE_USER.' } as const;
const tags = {
  type: 'array',
  items: { type: 'string' },
  description: `At most ${LIMITS.tagsMax} tags, each 1 to ${LIMITS.tagMaxLength} characters.`,
} as const;
const name = { type: 'string', description: `Trimmed; 1 to ${LIMITS.nameMaxLength} characters.` } as const;
const email = { type: 'string', description: 'A valid address, unique case-insensitively.' } as const;

export const userSchema = {
  $id: 'User',
  type: 'object',
  description: 'users.v1.User in the proto3 JSON mapping. With `fields`, only the fields asked for are present.',
  properties: {
    id: { type: 'string', description: 'UUIDv7, assigned by the server.' },
    name,
    email,
    role: { type: 'string', enum: ['USER_ROLE_UNSPECIFIED', ...ROLES] },
    tags,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    revision: {
      type: 'string',
      pattern: '^[0-9]+$',
      description: 'The change-log revision of this version (int64, in digits): it changes with every write.',
    },
    etag: {
      type: 'string',
      description: 'This version\'s entity tag (`"r<revision>"`): send it as If-Match to write only this version.',
    },
  },
  additionalProperties: false,
} as const;

export const userPageSchema = {
  $id: 'UserPage',
  type: 'object',
  properties: {
    users: { type: 'array', items: { $ref: 'User#' } },
    nextPageToken: { type: 'string', description: 'Pass as `page_token` for the next page; empty on the last.' },
    totalCount: { type: 'integer', description: 'Matching users (offset pages only).' },
    revision: {
      type: 'string',
      pattern: '^[0-9]+$',
      description: 'The change-log revision this page reflects (also the X-Revision header): watch after it.',
    },
    totalCountIsLowerBound: {
      type: 'boolean',
      description:
        'Offset pages only: true when the count stopped (a filter counts its matches up to 10,000, ' +
        'as far as offset pages reach), so there are at least `totalCount`.',
    },
  },
  required: ['users', 'nextPageToken'],
} as const;

/** The data of an SSE `event: bookmark` (in the document's `x-sse-events` only: no route sends it as a body). */
export const bookmarkSchema = {
  type: 'object',
  properties: {
    revision: {
      type: 'string',
      pattern: '^[0-9]+$',
      description:
        'Every change this stream selects up to this revision was sent (also the event’s `id:`): resume after it.',
    },
  },
  required: ['revision'],
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: [...Object.values(ErrorCode), ...Object.values(HttpErrorCode)] },
        message: { type: 'string' },
        details: {
          type: 'array',
          description: `The bad fields, at most ${MAX_REPORTED_VIOLATIONS}; past that, metadata.violations counts them all.`,
          items: {
            type: 'object',
            properties: { field: { type: 'string' }, description: { type: 'string' } },
            required: ['field', 'description'],
          },
        },
        metadata: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'Facts about the error, e.g. `index` of a bad batch item, `retry_after_seconds`.',
        },
      },
      required: ['code', 'message', 'details'],
    },
  },
  required: ['error'],
} as const;

export const createUserBody = {
  type: 'object',
  properties: { name, email, role, tags },
  required: ['name', 'email'],
  additionalProperties: false,
} as const;

export const patchUserBody = {
  type: 'object',
  description: 'Only the fields present change.',
  properties: { name, email, role, tags },
  additionalProperties: false,
} as const;

export const batchBody = {
  type: 'object',
  properties: { users: { type: 'array', items: createUserBody, maxItems: LIMITS.batchMax } },
  required: ['users'],
  additionalProperties: false,
} as const;

export const batchResponse = {
  type: 'object',
  properties: { users: { type: 'array', items: { $ref: 'User#' } }, createdCount: { type: 'integer' } },
  required: ['users', 'createdCount'],
} as const;

const fields = {
  type: 'string',
  description: `Comma-separated fields to return (sparse fieldset): ${USER_FIELDS.join(', ')}.`,
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', description: `A user id (UUIDv7); at most ${LIMITS.idMaxLength} characters.` } },
  required: ['id'],
} as const;
export const fieldsQuery = { type: 'object', properties: { fields }, additionalProperties: false } as const;

export const listQuery = {
  type: 'object',
  properties: {
    filter: {
      type: 'string',
      description: `Case-insensitive substring of the name; at most ${LIMITS.filterMaxLength} characters.`,
    },
    page: {
      type: 'integer',
      description:
        `Offset pagination: 1-based page number (default 1), written in digits. Offset pages reach the first ` +
        `${LIMITS.offsetMax} users; use page_token to go further.`,
    },
    limit: { type: 'integer', description: `Page size: default ${PAGE_SIZE.default}, at most ${PAGE_SIZE.max}.` },
    page_token: {
      type: 'string',
      description:
        'Cursor pagination: continue after this token (from `nextPageToken` or the Link header); ' +
        `at most ${LIMITS.pageTokenMaxLength} characters.`,
    },
    fields,
  },
  additionalProperties: false,
} as const;

export const eventsQuery = {
  type: 'object',
  properties: {
    user_ids: {
      type: 'string',
      description: `Comma-separated user ids to watch (at most ${LIMITS.watchIdsMax}); absent means every user.`,
    },
    after_revision: {
      type: 'integer',
      description: 'Resume after this revision (same as the Last-Event-ID header), written in digits.',
    },
    bookmarks: {
      type: 'boolean',
      description:
        '`event: bookmark` while the stream is quiet (the default: true); false sends changes only. ' +
        'A bookmark carries the revision read so far, as its `id:`.',
    },
    access_token: {
      type: 'string',
      description:
        'The bearer token, for clients that cannot set headers (a browser EventSource). It lands in access logs: ' +
        'use short-lived tokens here.',
    },
  },
  additionalProperties: false,
} as const;

/**
 * What any protected route may answer: no valid credentials (401), a request that does not arrive in
 * time (408), a caller over its rate limit (429), headers too large (431), a failure inside (500), a
 * server that cannot serve now (503: unavailable, overloaded).
 */
const ANY_ROUTE = [401, 408, 429, 431, 500, 503];

/** Protected routes take a bearer token (the event stream also in its URL). */
export const BEARER = [{ bearer: [] }];
/** Open routes say so: no security requirement (health, for load balancers). */
export const OPEN: { [scheme: string]: string[] }[] = [];

/** What an open route can still answer: HTTP's own failures, before or around any route's work. */
const OPEN_ROUTE = [408, 431, 500];

const errorBodies = (statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: `Error (${s})`, content: { 'application/json': { schema: { $ref: 'Error#' } } } },
    ]),
  );

/** Error responses a route may give, by status: always the Error body, as JSON, whatever the route's own media types. */
export function errorResponses(...statuses: number[]) {
  return errorBodies([...statuses, ...ANY_ROUTE]);
}
/** Those of an open route. */
errorResponses.open = () => errorBodies(OPEN_ROUTE);

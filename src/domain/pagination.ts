import { invalidArgument } from './errors.js';
import { LIMITS } from './user.js';

export const PAGE_SIZE = { default: 50, max: 500 } as const;

/** Position of the last user of a page in the listing order (created_at desc, id desc). */
export interface Cursor {
  createdAt: number;
  id: string;
}

interface TokenBody {
  v: 1;
  c: number;
  i: string;
  /** The filter the token was issued for: a token only continues its own listing. */
  f: string;
}

/** 0 or absent means the default; anything else must be within 1..max. */
export function pageSize(requested: number | undefined, field: string): number {
  if (requested === undefined || requested === 0) return PAGE_SIZE.default;
  if (!Number.isInteger(requested) || requested < 1 || requested > PAGE_SIZE.max) {
    throw invalidArgument([{ field, description: `must be between 1 and ${PAGE_SIZE.max}` }]);
  }
  return requested;
}

export function encodePageToken(cursor: Cursor, filter: string): string {
  const body: TokenBody = { v: 1, c: cursor.createdAt, i: cursor.id, f: filter };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodePageToken(token: string, filter: string): Cursor | undefined {
  if (token === '') return undefined;
  const bad = (description: string) => invalidArgument([{ field: 'page_token', description }]);
  if (token.length > LIMITS.pageTokenMaxLength) throw bad('is not a token this service issued');
  let body: Partial<TokenBody>;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
  } catch {
    throw bad('is not a token this service issued');
  }
  if (body?.v !== 1 || typeof body.c !== 'number' || typeof body.i !== 'string' || typeof body.f !== 'string') {
    throw bad('is not a token this service issued');
  }
  if (body.f !== filter) throw bad('was issued for a different filter');
  return { createdAt: body.c, id: body.i };
}

/** 1-based page number for offset pagination, within LIMITS.offsetMax users of the top. */
export function pageNumber(requested: number | undefined, limit: number): number {
  if (requested === undefined) return 1;
  if (!Number.isInteger(requested) || requested < 1) {
    throw invalidArgument([{ field: 'page', description: 'must be a whole number of at least 1' }]);
  }
  if ((requested - 1) * limit >= LIMITS.offsetMax) {
    const description = `starts past the first ${LIMITS.offsetMax} users, where offset pages stop; go further with page_token`;
    throw invalidArgument([{ field: 'page', description }]);
  }
  return requested;
}

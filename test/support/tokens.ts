// Tokens for the test servers: every test stack verifies with one known secret, so tests can act as
// any principal (and the PostgreSQL run, which requires a configured key, has one).
import type { PrincipalRole } from '../../src/domain/access.js';
import { issueToken } from '../../src/access/tokens.js';

export const TEST_JWT_SECRET = 'twinapi-tests-only-secret-0123456789abcdef';

const key = { kind: 'secret', secret: new TextEncoder().encode(TEST_JWT_SECRET), source: 'setting' } as const;

/** A token for `role` acting as `subject`, signed with the tests' secret. */
export function tokenOf(
  role: PrincipalRole,
  subject = role === 'admin' ? 'admin' : 'nobody',
  ttl = '1h',
): Promise<string> {
  return issueToken(key, { role, subject, ttl, issuer: '', audience: '' });
}

export const ADMIN_TOKEN = await tokenOf('admin');

/** The Authorization header of `token`. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** fetch, as an admin unless the request brings its own Authorization. */
export function adminFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${ADMIN_TOKEN}`);
  return fetch(url, { ...init, headers });
}

/** When `token` expires (its `exp`, in epoch ms). */
export function expiryOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
  return payload.exp * 1000;
}

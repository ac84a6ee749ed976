import { ErrorCode, QUOTA_LIMIT_KEY, RETRY_AFTER_KEY } from '../domain/errors.js';

/** RFC 6750: how to authenticate, on every refused token. */
const WWW_AUTHENTICATE = 'Bearer realm="twinapi", error="invalid_token"';

/**
 * The HTTP headers a refusal carries on every protocol served over HTTP (REST, GraphQL, tRPC):
 * Retry-After when a retry may succeed later, WWW-Authenticate on UNAUTHENTICATED, and for a quota
 * the rate-limit header fields (IETF httpapi draft): which quota, none left, and when it refills.
 */
export function refusalHeaders(code: string, metadata: Readonly<Record<string, string>>): Record<string, string> {
  const retryAfter = metadata[RETRY_AFTER_KEY];
  const quotaLimit = metadata[QUOTA_LIMIT_KEY];
  const headers: Record<string, string> = {};
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  if (code === ErrorCode.UNAUTHENTICATED) headers['www-authenticate'] = WWW_AUTHENTICATE;
  if (quotaLimit !== undefined) {
    Object.assign(headers, {
      'ratelimit-limit': quotaLimit,
      'ratelimit-remaining': '0',
      'ratelimit-reset': retryAfter ?? '1',
    });
  }
  return headers;
}

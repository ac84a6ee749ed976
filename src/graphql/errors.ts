// Errors in GraphQL's terms: each error of the response's `errors` carries our catalogue code in
// `extensions.code`, with `violations` (the bad fields, named as the domain names them) and
// `metadata`. A request refused as a whole (not admitted, not parseable, not valid, over a limit)
// answers the HTTP status REST gives its code, with a GraphQL body; errors of some fields of a query
// that ran answer 200, with `data` beside `errors`.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DOMAIN_HTTP_STATUS_OF as HTTP_STATUS_OF } from '../contract/http-status.js';
import { asDomainError, DomainError, ErrorCode, type FieldViolation } from '../domain/errors.js';

/** The HTTP status of a request refused as a whole: as REST answers each code. */
export { HTTP_STATUS_OF };

/** What each error of a response carries beyond GraphQL's message, locations and path. */
export interface ErrorExtensions {
  [key: string]: unknown;
  code: ErrorCode;
  violations: FieldViolation[];
  metadata: Record<string, string>;
}

export type GraphqlError = GraphQLFormattedError & { extensions: ErrorExtensions };

/** Logs the cause of an unexpected error (it is never sent). */
export type LogInternal = (error: unknown) => void;

/** A request GraphQL itself refused (syntax, validation, a limit, variables): the client's query to fix. */
export const queryError = (message: string, reason: string): DomainError =>
  new DomainError(ErrorCode.INVALID_ARGUMENT, message, [], { reason });

/**
 * Any error as a GraphQL error of ours. An error of the domain keeps its code; one GraphQL raised
 * about the document (no original error) is INVALID_ARGUMENT with GraphQL's message; anything else is
 * INTERNAL, its cause logged.
 */
export function formatError(error: unknown, logInternal: LogInternal): GraphqlError {
  const graphqlError = error instanceof GraphQLError ? error : undefined;
  const cause = graphqlError ? graphqlError.originalError : error;
  let domain: DomainError;
  if (cause === undefined || cause === null) domain = queryError(graphqlError!.message, 'GRAPHQL_VALIDATION');
  else if (cause instanceof GraphQLError) return formatError(cause, logInternal);
  else {
    domain = asDomainError(cause);
    if (domain.code === ErrorCode.INTERNAL && !(cause instanceof DomainError)) logInternal(cause);
  }
  const extensions: ErrorExtensions = {
    code: domain.code,
    violations: domain.violations.map(({ field, description }) => ({ field, description })),
    metadata: { ...domain.metadata },
  };
  return {
    message: domain.message,
    ...(graphqlError?.locations ? { locations: graphqlError.locations } : {}),
    ...(graphqlError?.path ? { path: graphqlError.path } : {}),
    extensions,
  };
}

/** A response with only errors: a request refused as a whole. */
export const errorsBody = (errors: readonly GraphqlError[]) => ({ errors });

/** Mercurius's and Fastify's errors of a request refused as a whole: the status, and what we say (never their text, which may echo input). */
const REFUSALS: Record<string, [number, string, string]> = {
  MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND: [400, 'PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND'],
  MER_ERR_GQL_PERSISTED_QUERY_NOT_SUPPORTED: [400, 'PersistedQueryNotSupported', 'PERSISTED_QUERY_NOT_SUPPORTED'],
  MER_ERR_GQL_PERSISTED_QUERY_MISMATCH: [
    400,
    'the sha256Hash is not the SHA-256 of the query sent with it',
    'PERSISTED_QUERY_MISMATCH',
  ],
  MER_ERR_METHOD_NOT_ALLOWED: [405, 'only a query may be sent with GET: POST a mutation', 'METHOD_NOT_ALLOWED'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'the body is larger than this server accepts', 'PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    415,
    'send the request as application/json (or the query alone as application/graphql)',
    'UNSUPPORTED_MEDIA_TYPE',
  ],
};

/**
 * A request refused as a whole: its HTTP status and its errors. Mercurius's validation error
 * carries GraphQL's errors (syntax, validation, limits, variables): each is one error of ours.
 */
export function refusal(error: unknown, logInternal: LogInternal): { status: number; errors: GraphqlError[] } {
  if (error instanceof DomainError) {
    return { status: HTTP_STATUS_OF[error.code], errors: [formatError(error, logInternal)] };
  }
  const { code, errors, statusCode } = error as { code?: unknown; errors?: unknown; statusCode?: unknown };
  if (code === 'MER_ERR_GQL_VALIDATION' && Array.isArray(errors)) {
    return { status: 400, errors: errors.map((e) => formatError(asGraphqlError(e), logInternal)) };
  }
  const known = typeof code === 'string' ? REFUSALS[code] : undefined;
  if (known) return { status: known[0], errors: [formatError(queryError(known[1], known[2]), logInternal)] };
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const message = 'the request is not a GraphQL request this server reads (see docs/graphql.md)';
    return { status: statusCode, errors: [formatError(queryError(message, 'MALFORMED_REQUEST'), logInternal)] };
  }
  return { status: 500, errors: [formatError(error, logInternal)] };
}

/** GraphQL's own errors stay as they are; any other error in Mercurius's list (a JSON variables parse) is the client's. */
const asGraphqlError = (error: unknown): GraphQLError =>
  error instanceof GraphQLError ? error : new GraphQLError('the variables or extensions are not valid JSON');

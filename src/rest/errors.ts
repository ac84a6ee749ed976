import type { FastifyError } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { DOMAIN_HTTP_STATUS_OF } from '../contract/http-status.js';
import { refusalHeaders } from '../contract/refusal-headers.js';
import {
  asDomainError,
  type DomainError,
  ErrorCode,
  type ErrorDescription,
  type FieldViolation,
  invalidArgument,
} from '../domain/errors.js';

/** Errors of HTTP itself, beside the domain's codes. */
export const HttpErrorCode = {
  MALFORMED_BODY: 'MALFORMED_BODY',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  MALFORMED_REQUEST: 'MALFORMED_REQUEST',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  URI_TOO_LONG: 'URI_TOO_LONG',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];
export type RestErrorCode = ErrorCode | HttpErrorCode;

/** The HTTP codes' part of the error catalogue (the domain's codes are in ERROR_CATALOGUE). */
export const HTTP_ERROR_CATALOGUE: Record<HttpErrorCode, ErrorDescription> = {
  MALFORMED_BODY: {
    meaning: 'the body could not be parsed as its Content-Type says',
    action: 'send a well-formed body',
  },
  PAYLOAD_TOO_LARGE: {
    meaning: 'the body is larger than the server accepts',
    action: 'send less: split a batch into several',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    meaning: 'the body is in a media type the route does not take',
    action: 'send application/json or application/msgpack (POST /users also takes application/x-protobuf)',
  },
  NOT_ACCEPTABLE: {
    meaning: 'the Accept header allows none of the media types the route answers in',
    action: 'accept application/json, application/msgpack or application/x-protobuf',
  },
  ROUTE_NOT_FOUND: {
    meaning: 'no route has this method and path',
    action: 'check the method and path against /openapi.json',
  },
  MALFORMED_REQUEST: {
    meaning: 'the request itself is not valid HTTP, or its URL does not decode',
    action: 'fix the client: percent-encode the path, send valid HTTP',
  },
  REQUEST_TIMEOUT: {
    meaning: 'the request (headers and body) did not arrive within the server timeouts',
    action: 'send the whole request promptly; retry on a fresh connection',
  },
  URI_TOO_LONG: {
    meaning: 'a path parameter is longer than any the routes take',
    action: 'check the id: user ids are UUIDs',
  },
  HEADERS_TOO_LARGE: {
    meaning: 'the request line and headers are larger than the server reads',
    action: 'send fewer or smaller headers',
  },
};

/** The HTTP status of each code: a new code does not build until it has one. */
export const HTTP_STATUS_OF: Record<RestErrorCode, number> = {
  ...DOMAIN_HTTP_STATUS_OF,
  [HttpErrorCode.MALFORMED_BODY]: 400,
  [HttpErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [HttpErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [HttpErrorCode.NOT_ACCEPTABLE]: 406,
  [HttpErrorCode.ROUTE_NOT_FOUND]: 404,
  [HttpErrorCode.MALFORMED_REQUEST]: 400,
  [HttpErrorCode.REQUEST_TIMEOUT]: 408,
  [HttpErrorCode.URI_TOO_LONG]: 414,
  [HttpErrorCode.HEADERS_TOO_LARGE]: 431,
};

/** The error body of the original design: `{"error": {"code", "message", "details"}}`. */
export interface ErrorBody {
  error: { code: RestErrorCode; message: string; details: FieldViolation[]; metadata?: Record<string, string> };
}

export class HttpError extends Error {
  constructor(
    readonly code: RestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Fastify's own errors, by their stable codes, with what we say instead of its message (which may echo input). */
const FASTIFY_CODES: Record<string, [RestErrorCode, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
    'this route does not take a body of that media type',
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [HttpErrorCode.MALFORMED_BODY, 'the body is not as long as Content-Length says'],
  FST_ERR_CTP_BODY_TOO_LARGE: [HttpErrorCode.PAYLOAD_TOO_LARGE, 'the body is larger than this server accepts'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [HttpErrorCode.MALFORMED_BODY, 'the body is empty, but its Content-Type says JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: [HttpErrorCode.MALFORMED_BODY, 'the body is not valid JSON'],
  FST_ERR_BAD_URL: [HttpErrorCode.MALFORMED_REQUEST, 'the URL does not decode (a bad percent-encoding)'],
  FST_ERR_MAX_PARAM_LENGTH: [HttpErrorCode.URI_TOO_LONG, 'a path parameter is longer than any route takes'],
};

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** Headers the answer carries: Retry-After when a retry may succeed later. */
  headers: Record<string, string>;
  /** A bug worth logging (the cause is never sent). */
  internal: boolean;
}

function response(
  code: RestErrorCode,
  message: string,
  details: FieldViolation[] = [],
  metadata: Record<string, string> = {},
): ErrorResponse {
  const headers = refusalHeaders(code, metadata);
  return {
    status: HTTP_STATUS_OF[code],
    body: { error: { code, message, details, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) } },
    headers,
    internal: code === ErrorCode.INTERNAL,
  };
}

/** Maps any error to a status, headers and the documented body. */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof HttpError) return response(error.code, error.message);
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const context = fastifyError.validationContext ?? 'body';
    const violations = fastifyError.validation.map((v) => ({
      field: validationField(context, v.instancePath, v.params),
      description: v.message ?? 'is invalid',
    }));
    return fromDomain(invalidArgument(violations));
  }
  const known = fastifyError.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
  if (known) return response(...known);
  // A plugin's own client error (e.g. @fastify/static refusing a path that leaves its root): as if no route.
  const status = fastifyError.statusCode;
  if (status === 403 || status === 404 || status === 405) {
    return response(HttpErrorCode.ROUTE_NOT_FOUND, 'no such route or file');
  }
  if (status !== undefined && status >= 400 && status < 500)
    return response(HttpErrorCode.MALFORMED_REQUEST, 'the request is not valid');
  return fromDomain(asDomainError(error));
}

function fromDomain(error: DomainError): ErrorResponse {
  return response(error.code, error.message, [...error.violations], { ...error.metadata });
}

/**
 * The answer to a connection-level error, before any route (Node's parser, its timeouts), written
 * on the raw socket in the documented body: a timeout (408), headers too large (431), or
 * unparsable HTTP (400).
 */
export function clientErrorResponse(error: { code?: string }): string {
  const code =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? HttpErrorCode.REQUEST_TIMEOUT
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? HttpErrorCode.HEADERS_TOO_LARGE
        : HttpErrorCode.MALFORMED_REQUEST;
  const { status, body } = response(code, HTTP_ERROR_CATALOGUE[code].meaning);
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
}

/** `/users/0/email` in the body → `users[0].email`; a missing property names itself. */
function validationField(context: string, instancePath: string, params: Record<string, unknown>): string {
  const segments = instancePath.split('/').filter(Boolean);
  for (const key of ['missingProperty', 'additionalProperty'] as const) {
    if (typeof params[key] === 'string') segments.push(params[key]);
  }
  const path = segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
  return context === 'body' ? path || 'body' : path || context;
}

import type { FastifyError } from 'fastify';
import { DomainError, ErrorCode, type ErrorDescription, type FieldViolation } from '../domain/errors.js';

/** Errors of HTTP itself, beside the domain's codes. */
export const HttpErrorCode = {
  MALFORMED_BODY: 'MALFORMED_BODY',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
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
};

/** The HTTP status of each code: a new code does not build until it has one. */
export const HTTP_STATUS_OF: Record<RestErrorCode, number> = {
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.USER_NOT_FOUND]: 404,
  [ErrorCode.EMAIL_ALREADY_EXISTS]: 409,
  [ErrorCode.REVISION_EXPIRED]: 410,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.PERMISSION_DENIED]: 403,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.DEADLINE_EXCEEDED]: 504,
  // nginx's "client closed request": only logs ever see it, the client has gone.
  [ErrorCode.CANCELLED]: 499,
  [ErrorCode.INTERNAL]: 500,
  [HttpErrorCode.MALFORMED_BODY]: 400,
  [HttpErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [HttpErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [HttpErrorCode.NOT_ACCEPTABLE]: 406,
  [HttpErrorCode.ROUTE_NOT_FOUND]: 404,
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

/** Fastify's own errors, by their stable codes. */
const FASTIFY_CODES: Record<string, RestErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: HttpErrorCode.MALFORMED_BODY,
  FST_ERR_CTP_BODY_TOO_LARGE: HttpErrorCode.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_EMPTY_JSON_BODY: HttpErrorCode.MALFORMED_BODY,
  FST_ERR_CTP_INVALID_JSON_BODY: HttpErrorCode.MALFORMED_BODY,
};

/** Maps any error to a status and body; `internal` says it is a bug worth logging. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  const body = (
    code: RestErrorCode,
    message: string,
    details: FieldViolation[] = [],
    metadata?: Record<string, string>,
  ) => ({
    status: HTTP_STATUS_OF[code],
    body: { error: { code, message, details, ...(metadata && Object.keys(metadata).length > 0 ? { metadata } : {}) } },
    internal: code === ErrorCode.INTERNAL,
  });
  if (error instanceof DomainError)
    return body(error.code, error.message, [...error.violations], { ...error.metadata });
  if (error instanceof HttpError) return body(error.code, error.message);
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const details = fastifyError.validation.map((v) => ({
      field: validationField(fastifyError.validationContext ?? 'body', v.instancePath, v.params),
      description: v.message ?? 'is invalid',
    }));
    return body(
      ErrorCode.INVALID_ARGUMENT,
      `invalid request: ${details.map((d) => `${d.field}: ${d.description}`).join('; ')}`,
      details,
    );
  }
  const code = fastifyError.code && FASTIFY_CODES[fastifyError.code];
  if (code) return body(code, fastifyError.message ?? code);
  // A JSON syntax error thrown by the body parser.
  if (error instanceof SyntaxError || fastifyError.statusCode === 400)
    return body(HttpErrorCode.MALFORMED_BODY, 'the request body could not be parsed');
  return body(ErrorCode.INTERNAL, 'internal error');
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

import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalidArgument } from '../../domain/errors.js';
import type { CallContext } from '../../domain/ports.js';
import type { IdempotencyKey, UserService } from '../../domain/user-service.js';
import { conditionOf, REVISION_HEADER } from '../../contract/consistency.js';
import type { User } from '../../domain/user.js';
import { HttpError, HttpErrorCode } from '../errors.js';
import {
  type CreateUserJson,
  newUserFromJson,
  createJsonFromProtobuf,
  encodeBatch,
  cachedUser,
  encodePage,
  MEDIA,
  MEDIA_TYPES,
  type MediaType,
  negotiate,
  parseFields,
  type RestRepresentations,
  updateFromJson,
  type UserField,
} from '../representation.js';
import {
  batchBody,
  batchResponse,
  createUserBody,
  BEARER,
  errorResponses,
  fieldsQuery,
  idParams,
  listQuery,
  patchUserBody,
} from '../schemas.js';

interface ListQuery {
  filter?: string;
  page?: number;
  limit?: number;
  page_token?: string;
  fields?: string;
}

const produces = [...MEDIA_TYPES];

/** The media type to answer in, or 406 before any work is done. */
function responseType(request: FastifyRequest): MediaType {
  const type = negotiate(request.headers.accept);
  if (!type)
    throw new HttpError(
      HttpErrorCode.NOT_ACCEPTABLE,
      `cannot answer in any of: ${request.headers.accept}; offered: ${MEDIA_TYPES.join(', ')}`,
    );
  return type;
}

/** Sends `user` encoded (JSON as text, which Fastify sends as it is: the encoding is the cached one). */
function sendUser(
  reply: FastifyReply,
  representations: RestRepresentations,
  user: User,
  type: MediaType,
  fields?: readonly UserField[],
) {
  return reply
    .header('vary', 'Accept')
    .type(type)
    .send(cachedUser(representations, user, type, fields));
}

/**
 * A weak validator of the representation: the user's revision (it changes on every write, however
 * close together), the media type and the field set.
 */
function etagOf(user: User, type: MediaType, fields?: readonly UserField[]): string {
  return `W/"${user.id}-r${user.revision}-${MEDIA_NAME[type]}${fields ? `.${fields.join('.')}` : ''}"`;
}

/** Each media type's short name (`json`), as the ETag spells it. */
const MEDIA_NAME = Object.fromEntries(Object.entries(MEDIA).map(([name, type]) => [type, name])) as Record<
  MediaType,
  string
>;

/** RFC 8288 links for offset pages (first/prev/next/last) and cursor pages (next). */
function linkHeader(request: FastifyRequest, links: Record<string, Record<string, string | number>>): string {
  const base = new URL(request.url, 'http://placeholder');
  return Object.entries(links)
    .map(([rel, params]) => {
      const url = new URL(base);
      url.searchParams.delete('page');
      url.searchParams.delete('page_token');
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
      return `<${url.pathname}${url.search}>; rel="${rel}"`;
    })
    .join(', ');
}

const ifMatchHeader = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      description:
        'Write only if the user is still at this version: its etag (`"r<revision>"`) or an ETag this server sent; ' +
        '`*` for any version. 412 PRECONDITION_FAILED when it changed; with --require-if-match, 428 without it.',
    },
  },
} as const;

const idempotencyKeyHeader = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      description:
        'Makes the create safe to retry: a retry with the same key and body answers with the first result and ' +
        'writes nothing; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED. Kept per caller for ' +
        '--idempotency-key-ttl-hours; 1 to 255 visible ASCII characters.',
    },
  },
} as const;

/** How REST names the header a conditional write's errors point at. */
const IF_MATCH = 'If-Match';

/** The create's `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header), if it sent one. */
function idempotencyKeyOf(request: FastifyRequest): IdempotencyKey | undefined {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' ? { key, field: 'Idempotency-Key' } : undefined;
}

export interface UserRoutesOptions {
  /** How long a request's work may take: its deadline, which bounds its database work (504 past it). */
  requestTimeoutMs: number;
  /** Users' encodings kept per version (contract/representations.ts). */
  representations: RestRepresentations;
}

export function userRoutes(app: FastifyInstance, service: UserService, options: UserRoutesOptions): void {
  const { representations } = options;
  /** Who asks, and until when: the request timeout is its deadline. */
  const context = (request: FastifyRequest): CallContext => ({
    deadline: Date.now() + options.requestTimeoutMs,
    principal: request.principal,
  });

  app.get<{ Querystring: ListQuery }>(
    '/users',
    {
      schema: {
        security: BEARER,
        operationId: 'listUsers',
        tags: ['users'],
        summary: 'List users, newest first (offset or cursor pages)',
        querystring: listQuery,
        produces,
        response: { 200: { $ref: 'UserPage#' }, ...errorResponses(400, 406, 504) },
      },
    },
    async (request, reply) => {
      const type = responseType(request);
      const { filter, page, limit, page_token: pageToken, fields: rawFields } = request.query;
      const fields = parseFields(rawFields);
      reply.header('cache-control', 'private, no-cache').header('vary', 'Accept');
      const sendPage = (page: Parameters<typeof encodePage>[1]) =>
        reply
          .header(REVISION_HEADER, page.revision)
          .type(type)
          .send(encodePage(representations, page, type, fields));
      if (pageToken !== undefined) {
        if (page !== undefined)
          throw invalidArgument([{ field: 'page', description: 'cannot be combined with page_token' }]);
        const result = await service.listUsers({ filter, pageSize: limit, pageToken }, context(request));
        if (result.nextPageToken)
          reply.header('link', linkHeader(request, { next: { page_token: result.nextPageToken } }));
        return sendPage(result);
      }
      const result = await service.listUsersByOffset({ filter, page, limit }, context(request));
      const last = Math.max(1, Math.ceil(result.totalCount / result.limit));
      const links: Record<string, Record<string, number>> = { first: { page: 1 } };
      if (result.page > 1) links.prev = { page: Math.min(result.page - 1, last) };
      if (result.page < last) links.next = { page: result.page + 1 };
      links.last = { page: last };
      reply.header('x-total-count', result.totalCount).header('link', linkHeader(request, links));
      if (result.totalCountIsLowerBound) reply.header('x-total-count-is-lower-bound', 'true');
      return sendPage(result);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { fields?: string } }>(
    '/users/:id',
    {
      schema: {
        security: BEARER,
        operationId: 'getUser',
        tags: ['users'],
        summary: 'Get one user (ETag and If-None-Match supported)',
        params: idParams,
        querystring: fieldsQuery,
        produces,
        response: {
          200: { $ref: 'User#' },
          304: { type: 'null', description: 'Not modified' },
          ...errorResponses(400, 404, 406, 414, 504),
        },
      },
    },
    async (request, reply) => {
      const type = responseType(request);
      const fields = parseFields(request.query.fields);
      const user = await service.getUser(request.params.id, context(request));
      const etag = etagOf(user, type, fields);
      reply.header('etag', etag).header('cache-control', 'private, no-cache');
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
        return reply.code(304).header('vary', 'Accept').send();
      }
      return sendUser(reply, representations, user, type, fields);
    },
  );

  app.register(async (scope) => {
    // Only creating a user takes protobuf: the body is a users.v1.CreateUserRequest,
    // turned into the JSON shape so one schema validates every media type.
    scope.addContentTypeParser(MEDIA.protobuf, { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        done(null, createJsonFromProtobuf(body as Buffer));
      } catch (error) {
        done(error as Error);
      }
    });
    scope.post<{ Body: CreateUserJson }>(
      '/users',
      {
        schema: {
          security: BEARER,
          operationId: 'createUser',
          tags: ['users'],
          summary: 'Create a user (Idempotency-Key: safe to retry)',
          headers: idempotencyKeyHeader,
          body: createUserBody,
          produces,
          response: { 201: { $ref: 'User#' }, ...errorResponses(400, 403, 406, 409, 413, 415, 422, 504) },
        },
      },
      async (request, reply) => {
        const type = responseType(request);
        const user = await service.createUser(
          newUserFromJson(request.body),
          context(request),
          idempotencyKeyOf(request),
        );
        reply.code(201).header('location', `/users/${user.id}`);
        return sendUser(reply, representations, user, type);
      },
    );
  });

  app.patch<{ Params: { id: string }; Body: Partial<CreateUserJson> }>(
    '/users/:id',
    {
      schema: {
        security: BEARER,
        operationId: 'updateUser',
        tags: ['users'],
        summary: 'Update some fields of a user (If-Match: only this version)',
        params: idParams,
        headers: ifMatchHeader,
        body: patchUserBody,
        produces,
        response: { 200: { $ref: 'User#' }, ...errorResponses(400, 403, 404, 406, 409, 412, 413, 414, 415, 428, 504) },
      },
    },
    async (request, reply) => {
      const type = responseType(request);
      const user = await service.updateUser(
        request.params.id,
        updateFromJson(request.body),
        context(request),
        conditionOf(request.headers['if-match'], IF_MATCH),
      );
      return sendUser(reply, representations, user, type);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/users/:id',
    {
      schema: {
        security: BEARER,
        operationId: 'deleteUser',
        tags: ['users'],
        summary: 'Delete a user (If-Match: only this version)',
        params: idParams,
        headers: ifMatchHeader,
        response: {
          204: { type: 'null', description: 'Deleted' },
          ...errorResponses(400, 403, 404, 412, 414, 428, 504),
        },
      },
    },
    async (request, reply) => {
      await service.deleteUser(request.params.id, context(request), conditionOf(request.headers['if-match'], IF_MATCH));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { users: CreateUserJson[] } }>(
    '/users/batch',
    {
      schema: {
        security: BEARER,
        operationId: 'createUsers',
        tags: ['users'],
        summary: 'Create many users atomically (the REST twin of CreateUsers)',
        headers: idempotencyKeyHeader,
        body: batchBody,
        produces,
        response: { 201: batchResponse, ...errorResponses(400, 403, 406, 409, 413, 415, 422, 504) },
      },
    },
    async (request, reply) => {
      const type = responseType(request);
      const users = await service.createUsers(
        request.body.users.map(newUserFromJson),
        context(request),
        idempotencyKeyOf(request),
      );
      return reply.code(201).type(type).send(encodeBatch(users, type));
    },
  );
}

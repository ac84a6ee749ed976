import type { ErrorBody } from './errors.js';
import type { CreateUserJson, PageJson, UserJson } from './representation.js';
import { type SseMessage, SseParser } from './sse-parser.js';

/** A failed call: the HTTP status and the service's error body. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(`${status} ${body.error.code}: ${body.error.message}`);
  }
}

export interface ListParams {
  filter?: string;
  page?: number;
  limit?: number;
  pageToken?: string;
  fields?: string[];
}

export interface ListResult extends PageJson {
  link?: string;
  totalCountHeader?: number;
  /** The X-Revision header: the change-log revision the page reflects. */
  revisionHeader?: number;
}

/** What makes a write conditional or safe to retry. */
export interface WriteOptions {
  /** Sent as If-Match: the version the update or delete applies to (a user's etag), or `*`. */
  ifMatch?: string;
  /** Sent as Idempotency-Key on a create. */
  idempotencyKey?: string;
}

const writeHeaders = (options: WriteOptions = {}): Record<string, string> => ({
  ...(options.ifMatch === undefined ? {} : { 'if-match': options.ifMatch }),
  ...(options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey }),
});

/** A small typed client for the REST API (JSON), on fetch. */
export class RestClient {
  /** `token`: a bearer token sent with every request. `init`: more fetch options, e.g. a TLS dispatcher. */
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
    private readonly init: RequestInit = {},
  ) {}

  /** The headers every request carries. */
  get headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  getUser(id: string, fields?: string[]): Promise<UserJson> {
    return this.call('GET', `/users/${encodeURIComponent(id)}${fields ? `?fields=${fields.join(',')}` : ''}`);
  }

  createUser(body: CreateUserJson, options?: WriteOptions): Promise<UserJson> {
    return this.call('POST', '/users', body, writeHeaders(options));
  }

  updateUser(id: string, body: Partial<CreateUserJson>, options?: WriteOptions): Promise<UserJson> {
    return this.call('PATCH', `/users/${encodeURIComponent(id)}`, body, writeHeaders(options));
  }

  async deleteUser(id: string, options?: WriteOptions): Promise<void> {
    await this.call('DELETE', `/users/${encodeURIComponent(id)}`, undefined, writeHeaders(options));
  }

  createUsers(users: CreateUserJson[], options?: WriteOptions): Promise<{ users: UserJson[]; createdCount: number }> {
    return this.call('POST', '/users/batch', { users }, writeHeaders(options));
  }

  async listUsers(params: ListParams = {}): Promise<ListResult> {
    const query = new URLSearchParams();
    if (params.filter !== undefined) query.set('filter', params.filter);
    if (params.page !== undefined) query.set('page', String(params.page));
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    if (params.pageToken !== undefined) query.set('page_token', params.pageToken);
    if (params.fields) query.set('fields', params.fields.join(','));
    const response = await fetch(`${this.baseUrl}/users?${query.toString()}`, { ...this.init, headers: this.headers });
    const body = await this.parse<PageJson>(response);
    const total = response.headers.get('x-total-count');
    const revision = response.headers.get('x-revision');
    return {
      ...body,
      link: response.headers.get('link') ?? undefined,
      totalCountHeader: total === null ? undefined : Number(total),
      revisionHeader: revision === null ? undefined : Number(revision),
    };
  }

  /**
   * The change feed (Server-Sent Events), message by message until `signal` aborts; a refused stream
   * (a bad or expired revision, no token) is a RestError before the first message.
   */
  async *events(
    params: {
      afterRevision?: number | undefined;
      userIds?: string[] | undefined;
      bookmarks?: boolean | undefined;
    } = {},
    signal?: AbortSignal,
  ): AsyncGenerator<SseMessage> {
    const query = new URLSearchParams();
    if (params.userIds?.length) query.set('user_ids', params.userIds.join(','));
    if (params.afterRevision !== undefined) query.set('after_revision', String(params.afterRevision));
    if (params.bookmarks !== undefined) query.set('bookmarks', String(params.bookmarks));
    const response = await fetch(`${this.baseUrl}/users/events?${query.toString()}`, {
      ...this.init,
      headers: { ...this.headers, accept: 'text/event-stream' },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok || !response.body) {
      await this.parse(response);
      return;
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        yield* parser.push(decoder.decode(chunk, { stream: true }));
      }
    } catch (error) {
      // The caller's abort ends the stream quietly; anything else is the caller's to see.
      if (!signal?.aborted) throw error;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      ...this.init,
      method,
      headers: { ...this.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return this.parse<T>(response);
  }

  private async parse<T>(response: Response): Promise<T> {
    if (response.status === 204) return undefined as T;
    const body = await response.json();
    if (!response.ok) throw new RestError(response.status, body as ErrorBody);
    return body as T;
  }
}

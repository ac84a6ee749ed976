// The REST API over fetch, JSON both ways, with the bearer token; a failure is an ApiError carrying
// the documented error body ({"error": {code, message, details: [{field, description}], metadata}}).
import type { ClientUser } from '../../src/clients/users-api.js';
import type { TokenStore } from './token.js';

/** A user as the REST API (and every client of the project) shows it. */
export type UserJson = ClientUser;

export interface PageJson {
  users: UserJson[];
  nextPageToken: string;
}

export interface FieldViolation {
  field: string;
  description: string;
}

interface ErrorBody {
  error: { code: string; message: string; details?: FieldViolation[]; metadata?: Record<string, string> };
}

export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when the server did not answer. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldViolation[] = [],
    readonly metadata: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What a refusal means for the person holding the token, or undefined when the call was not refused. */
export function refusalText(status: number, code: string, message: string, hasToken: boolean): string | undefined {
  if (status === 401) {
    return hasToken
      ? `Refused (401 ${code}): the token is invalid or expired — ${message}. Paste a new one.`
      : `Refused (401 ${code}): no token. Paste one above (\`twinapi token --role admin\` prints one).`;
  }
  if (status === 403) return `Refused (403 ${code}): this token lacks the rights — ${message}.`;
  return undefined;
}

export type Rest = <T>(method: string, path: string, body?: unknown, init?: RequestInit) => Promise<T>;

/** A REST caller that sends the token and reports every 401 and 403 to `refused` before throwing. */
export function restClient(tokens: TokenStore, refused: (error: ApiError) => void): Rest {
  return async <T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> => {
    const headers = new Headers(init.headers);
    headers.set('accept', 'application/json');
    if (tokens.value) headers.set('authorization', `Bearer ${tokens.value}`);
    if (body !== undefined) headers.set('content-type', 'application/json');
    let response: Response;
    try {
      response = await fetch(path, {
        ...init,
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(0, 'NO_ANSWER', `the server did not answer (${(error as Error).message})`);
    }
    if (response.status === 204) return undefined as T;
    const json = (await response.json().catch(() => undefined)) as unknown;
    if (response.ok) return json as T;
    const failure = (json as Partial<ErrorBody> | undefined)?.error;
    const error = new ApiError(
      response.status,
      failure?.code ?? `HTTP_${response.status}`,
      failure?.message ?? response.statusText,
      failure?.details ?? [],
      failure?.metadata ?? {},
    );
    if (response.status === 401 || response.status === 403) refused(error);
    throw error;
  };
}

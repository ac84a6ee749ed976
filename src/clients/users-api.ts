import { type EventType, isEventType } from '../domain/event-types.js';

// The User service as a client sees it, whatever the protocol: one neutral shape, so a tool (the
// CLI) or a suite (the behaviour tests) is written once and runs over gRPC, REST, Connect or gRPC-Web.

/** A user as every protocol shows it; times as RFC 3339 strings, the role and event type by name. */
export interface ClientUser {
  id: string;
  name: string;
  email: string;
  role: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  /** The change-log revision of this version. */
  revision: number;
  /** This version's entity tag: what a conditional write (`ifMatch`) sends. */
  etag: string;
}

/** A change to one user. */
export interface ClientChange {
  type: EventType;
  revision: number;
  /** The user after the change (as it was just before, for a deletion). */
  user: ClientUser;
}

/** Not a change: the watch has sent every change it selects up to `revision` (a quiet watch says so now and then). */
export interface ClientBookmark {
  type: 'EVENT_TYPE_BOOKMARK';
  revision: number;
}

export type ClientEvent = ClientChange | ClientBookmark;

/**
 * An event as a client reads it off the wire, by its type's name: a change, a bookmark, or nothing
 * for a type this client does not know (a newer server's), which it skips.
 */
export function clientEvent(type: string, revision: number, user: () => ClientUser): ClientEvent | undefined {
  if (type === 'EVENT_TYPE_BOOKMARK') return { type, revision };
  return isEventType(type) ? { type, revision, user: user() } : undefined;
}

/** The fields a create or an update sends; an update changes exactly the fields given. */
export interface UserInput {
  name?: string;
  email?: string;
  /** A role's name (`USER_ROLE_ADMIN`); a name the contract does not have is sent as such, and refused. */
  role?: string;
  tags?: string[];
}

export type Protocol = 'grpc' | 'rest' | 'connect' | 'grpc-web' | 'graphql' | 'trpc';
export const PROTOCOLS: readonly Protocol[] = ['grpc', 'rest', 'connect', 'grpc-web', 'graphql', 'trpc'];

/** A failed call, read the protocol's way: the catalogue code, the protocol's status, the bad fields. */
export class ClientError extends Error {
  constructor(
    /** The catalogue code (`USER_NOT_FOUND`); '' when the server sent none (it was not reached). */
    readonly code: string,
    /** gRPC status name (`NOT_FOUND`), HTTP status, tRPC code (`NOT_FOUND`), or GraphQL's `extensions.code` (the catalogue code). */
    readonly status: string | number,
    readonly violations: { field: string; description: string }[],
    readonly metadata: Record<string, string>,
    message: string,
  ) {
    super(message);
  }

  get fields(): string[] {
    return this.violations.map((v) => v.field);
  }
}

/** What makes a write conditional (updates, deletes) or safe to retry (creates). */
export interface WriteOptions {
  /** The version the write applies to: a user's etag, or `*` (REST If-Match; gRPC and Connect the etag field). */
  ifMatch?: string;
  /** A retry with the same key answers with the first result (REST Idempotency-Key; gRPC and Connect request_id). */
  idempotencyKey?: string;
}

/** Every matching user, and the revision the listing reflects (that of its first page). */
export interface ClientListing {
  users: ClientUser[];
  revision: number;
}

/** What a watch asks for. */
export interface WatchRequest {
  afterRevision?: number;
  userIds?: string[];
  /** Bookmarks while the watch is quiet: the server's default (on) when absent. */
  bookmarks?: boolean;
  signal?: AbortSignal;
}

export interface UsersApi {
  readonly protocol: Protocol;
  createUser(input: UserInput, options?: WriteOptions): Promise<ClientUser>;
  getUser(id: string): Promise<ClientUser>;
  updateUser(id: string, changes: UserInput, options?: WriteOptions): Promise<ClientUser>;
  deleteUser(id: string, options?: WriteOptions): Promise<void>;
  createUsers(inputs: UserInput[], options?: WriteOptions): Promise<ClientUser[]>;
  /** Every matching user, newest first (gRPC and Connect: one ListUsers stream; REST: every cursor page). */
  listUsers(filter?: string): AsyncIterable<ClientUser>;
  /** listUsers with the revision it reflects (REST X-Revision, gRPC and Connect `x-revision` response metadata). */
  listing(filter?: string): Promise<ClientListing>;
  /**
   * Changes as they commit, after `afterRevision` if given, until `signal` aborts; bookmarks while
   * quiet unless `bookmarks` is false.
   */
  watch(options: WatchRequest): AsyncIterable<ClientEvent>;
  close(): void;
}

/** Awaits `call`, turning the protocol's error into a ClientError (anything else is rethrown). */
export async function via<T>(call: Promise<T>, read: (error: unknown) => ClientError | undefined): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw read(error) ?? error;
  }
}

/** The same for a stream: each step's error the protocol's way. */
export async function* viaStream<T>(
  stream: AsyncIterable<T>,
  read: (error: unknown) => ClientError | undefined,
): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (error) {
    throw read(error) ?? error;
  }
}

import type { Principal } from './access.js';
import type { DomainError } from './errors.js';
import type { Cursor } from './pagination.js';
import type { User, UserEvent, WatchEvent } from './user.js';

export interface ListQuery {
  /** Lower-cased substring to find in names; empty matches everyone. */
  nameContains: string;
  limit: number;
}

export interface OffsetQuery extends ListQuery {
  offset: number;
  countUpTo: number;
}

/** Users as one read saw them, and the change-log revision that read reflects (see SqlStore.atRevision). */
export interface Listing {
  users: User[];
  /** Watching after this revision gives the changes since the read: none missed. */
  revision: number;
}

export interface CountedPage extends Listing {
  totalCount: number;
  /** The count stopped at `countUpTo`: there are at least `totalCount` users, maybe more. */
  totalCountIsLowerBound: boolean;
}

/** A create a client may retry: its key, whose it is, and a digest of the fields it asked for. */
export interface IdempotentRequest {
  subject: string;
  key: string;
  /** Where the request carried the key, for errors. */
  field: string;
  /** Keys kept since before this (epoch ms) have expired: the request is new. */
  keptSince: number;
  fingerprint: string;
}

/** Who makes one call, and what it allows: the store stops its database work at the deadline. */
export interface CallContext {
  /** Epoch milliseconds; absent means no limit. */
  deadline?: number;
  /** Aborts when the caller has gone: work not yet begun is not begun (CANCELLED). */
  signal?: AbortSignal;
  /** The authenticated caller; absent for the process's own calls (seeding, tests), which may do anything. */
  principal?: Principal;
}

/**
 * Where users live. Every mutation appends its events to the change log in the
 * same transaction and returns them, so no change is ever committed unlogged.
 */
export interface UserStore {
  getUser(id: string, limits?: CallContext): Promise<User | undefined>;
  /** The users of `ids` that exist, each once, in any order: a missing id is simply absent. */
  getUsers(ids: readonly string[], limits?: CallContext): Promise<User[]>;
  /** Inserts all or none; a taken email raises EMAIL_ALREADY_EXISTS naming the item. */
  insertUsers(users: readonly User[], fieldPath: (index: number) => string, limits?: CallContext): Promise<UserEvent[]>;
  /** Reads the user, lets `change` compute the new one, writes it: one transaction; USER_NOT_FOUND if absent. */
  updateUser(id: string, change: (current: User) => User, limits?: CallContext): Promise<UserEvent>;
  /**
   * The same insert, once per key: a key this caller used before answers with what it answered
   * then (`replayed`) and writes nothing; with other fields, IDEMPOTENCY_KEY_REUSED. The key is
   * kept in the insert's transaction, so two concurrent calls with one key write once.
   */
  insertUsersOnce(
    users: readonly User[],
    fieldPath: (index: number) => string,
    request: IdempotentRequest,
    limits?: CallContext,
  ): Promise<{ events: UserEvent[] } | { replayed: User[] }>;
  /** USER_NOT_FOUND if absent; `check` sees the user first, in the transaction, and may refuse by throwing. */
  deleteUser(id: string, limits?: CallContext, check?: (current: User) => void): Promise<UserEvent>;
  /** Forgets the idempotency keys kept since before `before` (epoch ms); returns how many went. */
  pruneIdempotencyKeys(before: number): Promise<number>;
  /** Newest first, strictly after `after` when given. */
  listUsers(query: ListQuery & { after?: Cursor }, limits?: CallContext): Promise<Listing>;
  /**
   * A page at `offset` and the number of users matching: exact without a filter; with one,
   * counted up to `countUpTo`, beyond which the count stops (`totalCountIsLowerBound`).
   */
  listUsersByOffset(query: OffsetQuery, limits?: CallContext): Promise<CountedPage>;
  changeLog: ChangeLog;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ChangeLog {
  /** The highest revision ever committed (0 for an empty log), kept even when pruned. */
  headRevision(): Promise<number>;
  /** Events with revision > afterRevision, oldest first, at most `limit`. */
  readAfter(afterRevision: number, limit: number): Promise<UserEvent[]>;
  /** Drops all but the newest `retain` events; returns how many went. */
  prune(retain: number): Promise<number>;
}

/** What a call presents about who makes it. */
export interface Credentials {
  /** The `Authorization` header (HTTP) or `authorization` metadata (gRPC), as sent: `Bearer <token>`. */
  authorization?: string;
  /** A token sent in the URL (`access_token`), for clients that cannot set headers: a browser's EventSource. */
  accessToken?: string;
  /** The verified client certificate's subject fields (CN, OU…), on a mutual-TLS connection. */
  certificateSubject?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The client's address: whose quotas an anonymous call uses. */
  peer: string;
}

/**
 * The door every call goes through, whatever its protocol: who makes it, and whether it may run
 * now. Rejects with UNAUTHENTICATED, RATE_LIMITED or OVERLOADED.
 */
export interface AccessGate {
  admit(credentials: Credentials): Principal | Promise<Principal>;
}

/**
 * Whether the process can take another call now: adapters ask before they start one, so an
 * overloaded process answers OVERLOADED at once instead of queueing work without bound.
 */
export interface LoadShedder {
  /** The error to answer with while overloaded (it says when to retry); undefined while not. */
  refusal(): DomainError | undefined;
}

/** Which users a watcher wants; an empty set means everyone. Grows while watching. */
export interface WatchOptions {
  /** Resume after this revision; absent means from now. */
  afterRevision?: number;
  userIds: ReadonlySet<string>;
  signal: AbortSignal;
  /** Who watches: what its events show (see access.ts) and whose stream quota it uses; its credentials' expiry ends the watch. */
  principal?: Principal;
  /** Bookmarks while the watch is quiet (the default); false: changes only. */
  bookmarks?: boolean;
}

export interface EventFeed {
  /** Fails at once on a bad or expired start; then yields events as they commit, and bookmarks while none do. */
  watch(options: WatchOptions): Promise<AsyncIterable<WatchEvent>>;
  /**
   * Something was committed (up to `revision`, when the caller knows it): look
   * at the change log again. A watch that starts after this call starts after
   * that revision.
   */
  notify(revision?: number): void;
  /**
   * This process committed `events`, in one transaction and in revision order: the feed may take
   * them as they are instead of reading them back from the log (it reads the log when they do not
   * follow what it has read).
   */
  committed(events: readonly UserEvent[]): void;
}

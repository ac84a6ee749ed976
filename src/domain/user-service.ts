import { createHash } from 'node:crypto';
import {
  batchField,
  cancelled,
  invalidArgument,
  preconditionFailed,
  preconditionRequired,
  rateLimited,
  tooManyStreams,
  userNotFound,
} from './errors.js';
import { decodePageToken, encodePageToken, pageNumber, pageSize } from './pagination.js';
import type { CallContext, EventFeed, IdempotentRequest, UserStore, WatchOptions } from './ports.js';
import {
  checkUpdateRights,
  credentialsExpired,
  mayChange,
  permissionDenied,
  requireAdmin,
  visible,
  visibleEvent,
} from './access.js';
import { NewUsersBatch } from './batch.js';
import { LONGEST_TIMER_MS } from './timers.js';
import { characters, textProblem } from './text.js';
import {
  checkUpdate,
  LIMITS,
  type NewUserInput,
  newUser,
  searchKey,
  type User,
  type UserEvent,
  type UserUpdate,
  isBookmark,
  type WatchEvent,
} from './user.js';

export interface ListUsersInput {
  filter?: string;
  pageSize?: number;
  pageToken?: string;
}

export interface ListUsersPage {
  users: User[];
  /** Empty when this is the last page. */
  nextPageToken: string;
  /** The change-log revision the page reflects: a watch after it misses no change since. */
  revision: number;
}

export interface OffsetPageInput {
  filter?: string;
  page?: number;
  limit?: number;
}

export interface OffsetPage {
  users: User[];
  totalCount: number;
  /**
   * With a filter, matches are counted up to LIMITS.offsetMax, as far as offset pages reach; past
   * that the count stops and this is true: there are at least `totalCount`.
   */
  totalCountIsLowerBound: boolean;
  page: number;
  limit: number;
  /** Continues after this page in cursor mode; empty on the last page. */
  nextPageToken: string;
  /** The change-log revision the page reflects. */
  revision: number;
}

/** A create's idempotency key, and the field it came in (REST `Idempotency-Key`, gRPC `request_id`) for errors. */
export interface IdempotencyKey {
  key: string;
  field: string;
}

/** What a write may be conditional on. */
export interface WriteCondition {
  /** Write only if the user is still at this revision (its etag names it); PRECONDITION_FAILED otherwise. */
  ifRevision?: number;
  /** `If-Match: *`: any version of an existing user (which satisfies --require-if-match). */
  anyVersion?: boolean;
}

export interface ServiceOptions {
  /** Updates and deletes must name the version they apply to (PRECONDITION_REQUIRED otherwise). */
  requireIfMatch?: boolean;
  /** How long a create's idempotency key holds; a retry after it is a new create. */
  idempotencyKeyTtlMs?: number;
  /** Watches (of every protocol) one process holds at once; past it, TOO_MANY_STREAMS. */
  maxWatches?: number;
  /** Watches one caller (principal) holds at once in one process; past it, RATE_LIMITED. */
  maxWatchesPerPrincipal?: number;
}

export const SERVICE_DEFAULTS: Required<ServiceOptions> = {
  requireIfMatch: false,
  idempotencyKeyTtlMs: 24 * 3_600_000,
  maxWatches: 10_000,
  maxWatchesPerPrincipal: 100,
};

/** What a client refused for capacity is told to wait before retrying, in seconds. */
const RETRY_AFTER_SECONDS = 5;

/** The use cases of the User service; adapters translate protocols to these calls. */
export class UserService {
  private readonly options: Required<ServiceOptions>;
  private watches = 0;
  private readonly watchesOf = new Map<string, number>();

  constructor(
    private readonly store: UserStore,
    private readonly feed: EventFeed,
    options: ServiceOptions = {},
  ) {
    this.options = { ...SERVICE_DEFAULTS, ...options };
  }

  /** Watches open now, over every protocol. */
  get openWatches(): number {
    return this.watches;
  }

  async getUser(id: string, context?: CallContext): Promise<User> {
    return visible(await this.existing(id, context), context?.principal);
  }

  /**
   * The users of `ids` that exist, by id, each as getUser would give it, in one store read (per
   * chunk of ids: see the store): a missing id is absent, for the caller to answer USER_NOT_FOUND.
   * Every id is checked first, as getUser checks it: one bad id fails the call before any read.
   */
  async getUsers(ids: readonly string[], context?: CallContext): Promise<Map<string, User>> {
    for (const id of ids) requireId(id);
    const users = await this.store.getUsers(ids, context);
    return new Map(users.map((user) => [user.id, visible(user, context?.principal)]));
  }

  /**
   * With an `idempotencyKey`, a retry (same caller, same key, same fields) answers with the first
   * call's user and writes nothing; the same key with other fields is IDEMPOTENCY_KEY_REUSED.
   */
  async createUser(request: NewUserInput, context?: CallContext, idempotencyKey?: IdempotencyKey): Promise<User> {
    requireAdmin(context?.principal, 'createRequiresAdmin');
    const [created] = await this.insert([newUser(request)], () => 'email', context, idempotencyKey);
    return created!;
  }

  /** All or nothing: every bad item is reported (up to a cap), each named by its index. */
  async createUsers(
    requests: readonly NewUserInput[],
    context?: CallContext,
    idempotencyKey?: IdempotencyKey,
  ): Promise<User[]> {
    requireAdmin(context?.principal, 'createRequiresAdmin');
    const batch = new NewUsersBatch();
    for (const request of requests) batch.add(request);
    return this.createBatch(batch, context, idempotencyKey);
  }

  /** Commits a batch that was checked item by item as it arrived (see NewUsersBatch). */
  async createBatch(batch: NewUsersBatch, context?: CallContext, idempotencyKey?: IdempotencyKey): Promise<User[]> {
    requireAdmin(context?.principal, 'createRequiresAdmin');
    const users = batch.users();
    if (users.length === 0) return [];
    return this.insert(users, (i) => batchField(i, 'email'), context, idempotencyKey);
  }

  /** Inserts `users` (once per idempotency key, when there is one): the users created, or those the key's first call created. */
  private async insert(
    users: readonly User[],
    fieldPath: (index: number) => string,
    context: CallContext | undefined,
    idempotencyKey: IdempotencyKey | undefined,
  ): Promise<User[]> {
    let events: UserEvent[];
    if (idempotencyKey === undefined) events = await this.store.insertUsers(users, fieldPath, context);
    else {
      const request = idempotentRequest(idempotencyKey, context, users, this.options.idempotencyKeyTtlMs);
      const once = await this.store.insertUsersOnce(users, fieldPath, request, context);
      if ('replayed' in once) return once.replayed.map((u) => visible(u, context?.principal));
      events = once.events;
    }
    this.committed(events);
    return events.map((e) => e.user);
  }

  async updateUser(
    id: string,
    update: UserUpdate,
    context?: CallContext,
    condition: WriteCondition = {},
  ): Promise<User> {
    requireId(id);
    const apply = checkUpdate(update);
    const check = this.conditionCheck(id, condition);
    await this.authorizeChange(id, 'updateSelfOnly', context);
    checkUpdateRights(context?.principal, update);
    // Checked on the user as the write's transaction reads it: no writer can come between.
    const change = check
      ? (current: User) => {
          check(current);
          return apply(current);
        }
      : apply;
    const event = await this.store.updateUser(id, change, context);
    this.committed([event]);
    return event.user;
  }

  async deleteUser(id: string, context?: CallContext, condition: WriteCondition = {}): Promise<void> {
    requireId(id);
    const check = this.conditionCheck(id, condition);
    await this.authorizeChange(id, 'deleteSelfOnly', context);
    this.committed([await this.store.deleteUser(id, context, check)]);
  }

  /**
   * The check of a write's condition on the user as its transaction reads it; none for a write on
   * any version. Refuses an unconditional write where one is required.
   */
  private conditionCheck(
    id: string,
    { ifRevision, anyVersion }: WriteCondition,
  ): ((current: User) => void) | undefined {
    if (ifRevision === undefined) {
      if (this.options.requireIfMatch && !anyVersion) throw preconditionRequired();
      return undefined;
    }
    if (!(Number.isSafeInteger(ifRevision) && ifRevision >= 0)) {
      throw invalidArgument([{ field: 'etag', description: 'must be an etag this server gave (`"r<revision>"`)' }]);
    }
    return (current) => {
      if (current.revision !== ifRevision) throw preconditionFailed(id, ifRevision, current.revision);
    };
  }

  /** The user, or USER_NOT_FOUND. */
  private async existing(id: string, context?: CallContext): Promise<User> {
    requireId(id);
    const user = await this.store.getUser(id, context);
    if (!user) throw userNotFound(id);
    return user;
  }

  /**
   * A user may change only itself; asked to change another, it learns whether that user exists
   * (404) before it is refused (403): every user may read every user, so this reveals nothing.
   */
  private async authorizeChange(id: string, rule: 'updateSelfOnly' | 'deleteSelfOnly', context?: CallContext) {
    if (mayChange(context?.principal, id)) return;
    await this.existing(id, context);
    throw permissionDenied(rule);
  }

  /** Cursor pagination: stable while users are added or removed. */
  async listUsers(input: ListUsersInput, context?: CallContext): Promise<ListUsersPage> {
    // Tokens are bound to the filter as matched: case-insensitively.
    const filter = nameFilter(input.filter);
    const limit = pageSize(input.pageSize, 'page_size');
    const after = decodePageToken(input.pageToken ?? '', filter);
    const { users, revision } = await this.store.listUsers({ nameContains: filter, limit: limit + 1, after }, context);
    const hasMore = users.length > limit;
    const page = hasMore ? users.slice(0, limit) : users;
    const principal = context?.principal;
    return {
      users: page.map((u) => visible(u, principal)),
      nextPageToken: hasMore ? tokenAfter(page, filter) : '',
      revision,
    };
  }

  /** Offset pagination with a total, for UIs that show page numbers. */
  async listUsersByOffset(input: OffsetPageInput, context?: CallContext): Promise<OffsetPage> {
    const limit = pageSize(input.limit, 'limit');
    const page = pageNumber(input.page, limit);
    const filter = nameFilter(input.filter);
    const offset = (page - 1) * limit;
    const result = await this.store.listUsersByOffset(
      { nameContains: filter, limit, offset, countUpTo: LIMITS.offsetMax },
      context,
    );
    const hasMore = result.totalCountIsLowerBound || offset + result.users.length < result.totalCount;
    const users = result.users.map((u) => visible(u, context?.principal));
    return {
      users,
      totalCount: result.totalCount,
      totalCountIsLowerBound: result.totalCountIsLowerBound,
      page,
      limit,
      nextPageToken: hasMore ? tokenAfter(result.users, filter) : '',
      revision: result.revision,
    };
  }

  async watchUsers(options: WatchOptions): Promise<AsyncIterable<WatchEvent>> {
    if (
      options.afterRevision !== undefined &&
      !(Number.isSafeInteger(options.afterRevision) && options.afterRevision >= 0)
    ) {
      throw invalidArgument([{ field: 'after_revision', description: 'must be a whole number of at least 0' }]);
    }
    watchMore(new Set(), [...options.userIds]);
    // A watcher already gone would hold its slot with nothing to release it.
    if (options.signal.aborted) throw cancelled();
    const { principal } = options;
    if (this.watches >= this.options.maxWatches) throw tooManyStreams(this.options.maxWatches, RETRY_AFTER_SECONDS);
    const subject = principal?.subject;
    const own = subject === undefined ? 0 : (this.watchesOf.get(subject) ?? 0);
    if (subject !== undefined && own >= this.options.maxWatchesPerPrincipal) {
      const quota = `at most ${this.options.maxWatchesPerPrincipal} open watch streams per caller`;
      throw rateLimited(quota, this.options.maxWatchesPerPrincipal, subject, RETRY_AFTER_SECONDS);
    }
    // The slot is held until the watch's events end or its signal aborts, whichever comes first.
    const expiry = untilExpiry(options.signal, principal?.expiresAt);
    this.watches++;
    if (subject !== undefined) this.watchesOf.set(subject, own + 1);
    let held = true;
    // Runs once the watch ends, however it ends (even if its events are never read). On the
    // caller's abort the expiry's own listener, added first, has already ended the feed's watch.
    const release = () => {
      expiry.clear();
      if (held) {
        this.watches--;
        if (subject !== undefined) {
          const left = (this.watchesOf.get(subject) ?? 1) - 1;
          if (left > 0) this.watchesOf.set(subject, left);
          else this.watchesOf.delete(subject);
        }
      }
      held = false;
      options.signal.removeEventListener('abort', release);
    };
    options.signal.addEventListener('abort', release, { once: true });
    try {
      const events = await this.feed.watch({ ...options, signal: expiry.signal });
      return (async function* () {
        try {
          // Each event as this caller may see it.
          for await (const event of events) yield isBookmark(event) ? event : visibleEvent(event, principal);
          if (expiry.expired()) throw credentialsExpired();
        } finally {
          release();
        }
      })();
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Forgets idempotency keys older than they are kept; returns how many went. */
  async pruneIdempotencyKeys(): Promise<number> {
    return this.store.pruneIdempotencyKeys(Date.now() - this.options.idempotencyKeyTtlMs);
  }

  async ping(): Promise<void> {
    await this.store.ping();
  }

  /** Wakes watchers once a change is durable. */
  private committed(events: readonly UserEvent[]): void {
    this.feed.committed(events);
  }
}

/**
 * A watch's signal: aborted when the caller's is, or when its credentials expire at `expiresAt`
 * (epoch ms; a watch of credentials that never expire has the caller's signal as it is).
 */
function untilExpiry(
  callerLeft: AbortSignal,
  expiresAt: number | undefined,
): { signal: AbortSignal; expired(): boolean; clear(): void } {
  if (expiresAt === undefined) return { signal: callerLeft, expired: () => false, clear: () => undefined };
  const watching = new AbortController();
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const end = () => watching.abort();
  // A token valid for longer than a timer can wait is looked at again when the timer fires.
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left > 0) timer = setTimeout(arm, Math.min(left, LONGEST_TIMER_MS)).unref();
    else {
      expired = true;
      end();
    }
  };
  callerLeft.addEventListener('abort', end, { once: true });
  arm();
  return {
    signal: watching.signal,
    expired: () => expired && !callerLeft.aborted,
    clear() {
      clearTimeout(timer);
      callerLeft.removeEventListener('abort', end);
    },
  };
}

/** What identifies a retry: the caller, its key, and a digest of the users it asked for. */
function idempotentRequest(
  { key, field }: IdempotencyKey,
  context: CallContext | undefined,
  users: readonly User[],
  ttlMs: number,
): IdempotentRequest {
  if (key === '' || key.length > LIMITS.idempotencyKeyMaxLength || /[^\x21-\x7e]/.test(key)) {
    throw invalidArgument([
      {
        field,
        description: `must be 1 to ${LIMITS.idempotencyKeyMaxLength} visible ASCII characters (a UUID is a good one)`,
      },
    ]);
  }
  // The fields the caller chose, not what the server made of them (ids, times).
  const asked = users.map((u) => [u.name, u.email, u.role, u.tags]);
  const fingerprint = createHash('sha256').update(JSON.stringify(asked)).digest('base64url');
  return { subject: context?.principal?.subject ?? '', key, field, fingerprint, keptSince: Date.now() - ttlMs };
}

function tokenAfter(users: readonly User[], filter: string): string {
  const last = users.at(-1);
  return last ? encodePageToken({ createdAt: last.createdAt.getTime(), id: last.id }, filter) : '';
}

/**
 * Adds `ids` to a watch's set (which a gRPC watch widens request by request), refusing a bad id or
 * more than LIMITS.watchIdsMax in all.
 */
export function watchMore(watching: Set<string>, ids: readonly string[]): void {
  ids.forEach((id, i) => {
    const field = `user_ids[${i}]`;
    if (id === '' || id.length > LIMITS.idMaxLength) {
      throw invalidArgument([{ field, description: `must be a user id (1 to ${LIMITS.idMaxLength} characters)` }]);
    }
    watching.add(id);
  });
  if (watching.size > LIMITS.watchIdsMax) {
    throw invalidArgument([
      { field: 'user_ids', description: `may name at most ${LIMITS.watchIdsMax} users per watch` },
    ]);
  }
}

/** The search key of a name filter: bounded, valid text. */
function nameFilter(filter = ''): string {
  const problem =
    textProblem(filter) ??
    (characters(filter) > LIMITS.filterMaxLength ? `must be at most ${LIMITS.filterMaxLength} characters` : undefined);
  if (problem) throw invalidArgument([{ field: 'filter', description: problem }]);
  return searchKey(filter);
}

/** INVALID_ARGUMENT for what cannot be a user id: what getUser and getUsers refuse before reading. */
export function requireId(id: string): void {
  if (id === '') throw invalidArgument([{ field: 'id', description: 'is required' }]);
  if (id.length > LIMITS.idMaxLength) {
    throw invalidArgument([
      { field: 'id', description: `is not a user id (at most ${LIMITS.idMaxLength} characters)` },
    ]);
  }
}

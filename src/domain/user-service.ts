import { batchField, invalidArgument, userNotFound } from './errors.js';
import { decodePageToken, encodePageToken, pageNumber, pageSize } from './pagination.js';
import type { CallLimits, EventFeed, UserStore, WatchOptions } from './ports.js';
import { NewUsersBatch } from './batch.js';
import {
  checkUpdate,
  type NewUserInput,
  newUser,
  searchKey,
  type User,
  type UserEvent,
  type UserUpdate,
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
}

export interface OffsetPageInput {
  filter?: string;
  page?: number;
  limit?: number;
}

export interface OffsetPage {
  users: User[];
  totalCount: number;
  page: number;
  limit: number;
  /** Continues after this page in cursor mode; empty on the last page. */
  nextPageToken: string;
}

/** The use cases of the User service; adapters translate protocols to these calls. */
export class UserService {
  constructor(
    private readonly store: UserStore,
    private readonly feed: EventFeed,
  ) {}

  async getUser(id: string, limits?: CallLimits): Promise<User> {
    requireId(id);
    const user = await this.store.getUser(id, limits);
    if (!user) throw userNotFound(id);
    return user;
  }

  async createUser(request: NewUserInput, limits?: CallLimits): Promise<User> {
    const events = await this.store.insertUsers([newUser(request)], () => 'email', limits);
    this.committed(events);
    return events[0]!.user;
  }

  /** All or nothing: every bad item is reported (up to a cap), each named by its index. */
  async createUsers(requests: readonly NewUserInput[], limits?: CallLimits): Promise<User[]> {
    const batch = new NewUsersBatch();
    for (const request of requests) batch.add(request);
    return this.createBatch(batch, limits);
  }

  /** Commits a batch that was checked item by item as it arrived (see NewUsersBatch). */
  async createBatch(batch: NewUsersBatch, limits?: CallLimits): Promise<User[]> {
    const users = batch.users();
    if (users.length === 0) return [];
    const events = await this.store.insertUsers(users, (i) => batchField(i, 'email'), limits);
    this.committed(events);
    return events.map((e) => e.user);
  }

  async updateUser(id: string, update: UserUpdate, limits?: CallLimits): Promise<User> {
    requireId(id);
    const apply = checkUpdate(update);
    const event = await this.store.updateUser(id, apply, limits);
    this.committed([event]);
    return event.user;
  }

  async deleteUser(id: string, limits?: CallLimits): Promise<void> {
    requireId(id);
    this.committed([await this.store.deleteUser(id, limits)]);
  }

  /** Cursor pagination: stable while users are added or removed. */
  async listUsers(input: ListUsersInput, limits?: CallLimits): Promise<ListUsersPage> {
    // Tokens are bound to the filter as matched: case-insensitively.
    const filter = searchKey(input.filter ?? '');
    const limit = pageSize(input.pageSize, 'page_size');
    const after = decodePageToken(input.pageToken ?? '', filter);
    const users = await this.store.listUsers({ nameContains: filter, limit: limit + 1, after }, limits);
    const hasMore = users.length > limit;
    const page = hasMore ? users.slice(0, limit) : users;
    return { users: page, nextPageToken: hasMore ? tokenAfter(page, filter) : '' };
  }

  /** Offset pagination with a total, for UIs that show page numbers. */
  async listUsersByOffset(input: OffsetPageInput, limits?: CallLimits): Promise<OffsetPage> {
    const page = pageNumber(input.page);
    const limit = pageSize(input.limit, 'limit');
    const filter = searchKey(input.filter ?? '');
    const offset = (page - 1) * limit;
    const result = await this.store.listUsersByOffset({ nameContains: filter, limit, offset }, limits);
    const hasMore = offset + result.users.length < result.totalCount;
    return { ...result, page, limit, nextPageToken: hasMore ? tokenAfter(result.users, filter) : '' };
  }

  async watchUsers(options: WatchOptions): Promise<AsyncIterable<UserEvent>> {
    if (
      options.afterRevision !== undefined &&
      !(Number.isInteger(options.afterRevision) && options.afterRevision >= 0)
    ) {
      throw invalidArgument([{ field: 'after_revision', description: 'must be a whole number of at least 0' }]);
    }
    return this.feed.watch(options);
  }

  async ping(): Promise<void> {
    await this.store.ping();
  }

  /** Wakes watchers once a change is durable. */
  private committed(events: readonly UserEvent[]): void {
    this.feed.notify(events.at(-1)?.revision);
  }
}

function tokenAfter(users: readonly User[], filter: string): string {
  const last = users.at(-1);
  return last ? encodePageToken({ createdAt: last.createdAt.getTime(), id: last.id }, filter) : '';
}

function requireId(id: string): void {
  if (id === '') throw invalidArgument([{ field: 'id', description: 'is required' }]);
}

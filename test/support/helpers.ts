import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { UserService } from '../../src/domain/user-service.js';
import type { UserChanges, UserUpdate } from '../../src/domain/user.js';
import { ChangeFeed, type ChangeFeedOptions } from '../../src/events/change-feed.js';
import { openStore } from '../../src/store/open.js';
import type { SqlUserStore } from '../../src/store/sql-store.js';
import { testDatabase } from './databases.js';

/** A fresh directory removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twinapi-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestStack {
  /** The SQLite file or PostgreSQL URL. */
  path: string;
  store: SqlUserStore;
  feed: ChangeFeed;
  service: UserService;
}

/** Store, feed and service on a real database of the engine under test; closed when the test file ends. */
export async function openStack(feedOptions: ChangeFeedOptions = {}, location?: string): Promise<TestStack> {
  const path = location ?? (await testDatabase());
  const { store, listenForCommits } = await openStore(path);
  const feed = await ChangeFeed.start(store.changeLog, { pollIntervalMs: 50, ...feedOptions });
  const listener = listenForCommits?.(
    (revision) => feed.notify(revision),
    () => {},
  );
  after(async () => {
    await listener?.close();
    await feed.close();
    await store.close();
  });
  return { path, store, feed, service: new UserService(store, feed) };
}

let counter = 0;
/** A valid new user, unique in this process; `overrides` may use the domain's or a client's types. */
export function aUser<T extends object = object>(overrides?: T): { name: string; email: string; tags: string[] } & T {
  counter += 1;
  return {
    name: `Test User ${counter}`,
    email: `user${counter}.${process.pid}@example.com`,
    tags: [],
    ...overrides,
  } as never;
}

/** A new user as REST's JSON body, unique in this process. */
export function aUserJson<T extends object = object>(overrides?: T): { name: string; email: string } & T {
  const { name, email } = aUser();
  return { name, email, ...overrides } as never;
}

/** A domain update of exactly the fields given. */
export const changing = (changes: UserChanges): UserUpdate => ({ fields: Object.keys(changes), changes });

/** Takes `count` items from an async iterable, failing after `timeoutMs`. */
export async function take<T>(source: AsyncIterable<T>, count: number, timeoutMs = 5000): Promise<T[]> {
  const items: T[] = [];
  if (count === 0) return items;
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${items.length} of ${count} items in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    while (items.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      items.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return items;
}

/** Polls `check` until it holds, failing after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const consecutive = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { UserService } from '../src/domain/user-service.js';
import type { UserChanges, UserUpdate } from '../src/domain/user.js';
import { ChangeFeed, type ChangeFeedOptions } from '../src/events/change-feed.js';
import { openStore } from '../src/store/open.js';
import { SseParser } from '../src/rest/sse-parser.js';
import type { SqlUserStore } from '../src/store/sql-store.js';
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

/** Asserts that `promise` rejects with a DomainError of `code`, and returns it. */
export async function rejectsWith<E extends { code: string }>(promise: Promise<unknown>, code: string): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if ((error as E).code === code) return error as E;
    throw new Error(`expected ${code}, got ${String((error as E).code)}: ${String(error)}`);
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

/** Polls `check` until it holds, failing after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects the revisions of one SSE subscriber, as a browser would see them; from now, or resumed after `afterRevision`. */
export function sseRevisions(restUrl: string, afterRevision?: number) {
  const revisions: number[] = [];
  const parser = new SseParser();
  const query = afterRevision === undefined ? '' : `?after_revision=${afterRevision}`;
  const request = http.get(
    `${restUrl}/users/events${query}`,
    { headers: { accept: 'text/event-stream' }, agent: false },
    (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        for (const message of parser.push(chunk)) revisions.push(Number(message.id));
      });
    },
  );
  request.on('error', () => {});
  return { revisions, close: () => request.destroy() };
}

export const consecutive = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

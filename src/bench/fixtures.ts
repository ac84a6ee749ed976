import { join } from 'node:path';
import { openApp } from '../app/app.js';
import { createLogger } from '../app/logger.js';
import { seed } from '../app/seed.js';
import type { User } from '../domain/user.js';

/** The seeded database every scenario reads, and the users the requests ask for. */
export interface BenchData {
  db: string;
  userCount: number;
  /** The user every GetUser / GET /users/:id asks for. */
  sampleUser: User;
  /** A cursor after all but the last 100 users: ListUsers from it streams exactly those 100. */
  listPageToken: string;
  listPage: User[];
}

export const LIST_SIZE = 100;

export async function prepareData(dir: string, userCount: number): Promise<BenchData> {
  const db = join(dir, 'bench.db');
  const app = await openApp({ db, eventRetention: 100_000 }, createLogger('silent', false));
  try {
    await seed(app.service, userCount);
    // Walk the cursor to the last full page of LIST_SIZE users.
    let skipped = 0;
    let pageToken = '';
    let sampleUser: User | undefined;
    while (skipped < userCount - LIST_SIZE) {
      const page = await app.service.listUsers({ pageSize: Math.min(500, userCount - LIST_SIZE - skipped), pageToken });
      sampleUser ??= page.users[0];
      skipped += page.users.length;
      pageToken = page.nextPageToken;
    }
    const last = await app.service.listUsers({ pageSize: LIST_SIZE, pageToken });
    return { db, userCount, sampleUser: sampleUser ?? last.users[0]!, listPageToken: pageToken, listPage: last.users };
  } finally {
    await app.close();
  }
}

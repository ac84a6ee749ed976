import type { GrpcEngineName } from '../grpc/server.js';
import { randomBytes } from 'node:crypto';
import { issueToken } from '../access/tokens.js';
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
  /** The user UpdateUser renames (another than sampleUser, outside the list page). */
  renamedUser: User;
  /** A cursor after all but the last 100 users: ListUsers from it streams exactly those 100. */
  listPageToken: string;
  listPage: User[];
  /** The secret our servers verify tokens with, and an admin token the load carries. */
  jwtSecret: string;
  token: string;
}

/** What our server (`ours`) runs with in the lab: the seeded database, and auth on unless `auth: 'none'`. */
export interface OursSettings {
  db: string;
  http2: boolean;
  jwtSecret: string;
  auth?: 'jwt' | 'none';
  workers?: number;
  /** Metrics recorded (and served on a free port); on unless false, as `serve` runs. */
  metrics?: boolean;
  /** One log line per call; off unless true (docs/operating.md advises it off under load). */
  accessLog?: boolean;
  /** What serves gRPC (`--grpc-engine`); the default engine unless said. */
  grpcEngine?: GrpcEngineName;
  /** `--sqlite-native-binding`: better-sqlite3's addon for the Node that runs the server, when node_modules' is for another. */
  sqliteNativeBinding?: string;
}

export const oursSettings = (
  data: Pick<BenchData, 'db' | 'jwtSecret'>,
  more: Partial<OursSettings> = {},
): OursSettings => ({
  db: data.db,
  http2: false,
  jwtSecret: data.jwtSecret,
  ...more,
});

export const LIST_SIZE = 100;

/** The secret our servers verify tokens with, and an admin token signed with it that the load carries. */
export async function benchCredentials(): Promise<Pick<BenchData, 'jwtSecret' | 'token'>> {
  const jwtSecret = randomBytes(32).toString('base64url');
  const key = { kind: 'secret', secret: new TextEncoder().encode(jwtSecret), source: 'setting' } as const;
  const token = await issueToken(key, { role: 'admin', subject: 'bench', ttl: '7d', issuer: '', audience: '' });
  return { jwtSecret, token };
}

/** Seeds `userCount` users into `db` (a SQLite file, or a PostgreSQL URL whose search_path is a fresh schema). */
export async function prepareData(db: string, userCount: number): Promise<BenchData> {
  const app = await openApp({ db, eventRetention: 100_000 }, createLogger('silent', false));
  try {
    await seed(app.service, userCount);
    // Walk the cursor to the last full page of LIST_SIZE users.
    let skipped = 0;
    let pageToken = '';
    let sampleUser: User | undefined;
    let renamedUser: User | undefined;
    while (skipped < userCount - LIST_SIZE) {
      const page = await app.service.listUsers({ pageSize: Math.min(500, userCount - LIST_SIZE - skipped), pageToken });
      sampleUser ??= page.users[0];
      renamedUser ??= page.users[1];
      skipped += page.users.length;
      pageToken = page.nextPageToken;
    }
    const last = await app.service.listUsers({ pageSize: LIST_SIZE, pageToken });
    return {
      db,
      userCount,
      sampleUser: sampleUser ?? last.users[0]!,
      renamedUser: renamedUser ?? last.users[1]!,
      listPageToken: pageToken,
      listPage: last.users,
      ...(await benchCredentials()),
    };
  } finally {
    await app.close();
  }
}

// Which database engine the suites run on: SQLite files by default; PostgreSQL schemas when
// TWINAPI_TEST_ENGINE=postgres (`npm run test:postgres`, part of `npm test`).
import pg from 'pg';

export const ENGINE: 'sqlite' | 'postgres' = process.env.TWINAPI_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';
/** Which gRPC engine serves the suites: grpc-js by default; node:http2 when TWINAPI_TEST_GRPC_ENGINE=http2 (`npm run test:http2`). */
export const GRPC_ENGINE: 'grpc-js' | 'http2' = process.env.TWINAPI_TEST_GRPC_ENGINE === 'http2' ? 'http2' : 'grpc-js';
export const POSTGRES_URL = process.env.TWINAPI_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Undefined when PostgreSQL answers; otherwise why not. */
export async function postgresUnreachable(url = POSTGRES_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL is not reachable at ${url} (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

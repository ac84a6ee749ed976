// Which database engine the suites run on: SQLite files by default; PostgreSQL schemas when
// TWINAPI_TEST_ENGINE=postgres (`npm run test:postgres`, part of `npm test`).
import pg from 'pg';
import { GRPC_DEFAULTS, type GrpcEngineName } from '../../src/grpc/server.js';

export const ENGINE: 'sqlite' | 'postgres' = process.env.TWINAPI_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';
/** Which gRPC engine serves the suites: the default (node:http2); grpc-js when TWINAPI_TEST_GRPC_ENGINE=grpc-js (`npm run test:grpc-js`). */
export const GRPC_ENGINE: GrpcEngineName =
  process.env.TWINAPI_TEST_GRPC_ENGINE === 'grpc-js' ? 'grpc-js' : GRPC_DEFAULTS.engine;
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

// Which database engine the suites run on: SQLite files by default; PostgreSQL schemas when
// TWINAPI_TEST_ENGINE=postgres (`npm run test:postgres`, part of `npm test`).
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { tempDir } from './helpers.js';

export const ENGINE: 'sqlite' | 'postgres' = process.env.TWINAPI_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';
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

let schemas = 0;

/** A new, empty schema for this test file, dropped when it ends; the URL selects it through search_path. */
export async function freshSchemaUrl(): Promise<string> {
  const schema = `t_${process.pid}_${++schemas}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  after(async () => {
    const dropper = new pg.Client({ connectionString: POSTGRES_URL });
    await dropper.connect();
    await dropper.query(`drop schema if exists ${schema} cascade`);
    await dropper.end();
  });
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Where a test's data lives on the engine under test: a fresh SQLite file or a fresh PostgreSQL schema. */
export async function testDatabase(): Promise<string> {
  return ENGINE === 'postgres' ? freshSchemaUrl() : join(tempDir(), 'twinapi.db');
}

// The lab's databases: fresh ones for a run (a SQLite file, or a PostgreSQL schema of its own), so
// that every scenario measures a table it made, never one a user keeps.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { redactedDb } from '../app/config.js';

export type DatabaseEngine = 'sqlite' | 'postgresql';

export interface BenchDatabase {
  engine: DatabaseEngine;
  /** How the report names it: `sqlite`, or the server URL with its password hidden. */
  label: string;
  /** What our server opens: a file, or a URL whose search_path selects the fresh schema. */
  db: string;
  drop(): Promise<void>;
}

let created = 0;

/** A fresh database for `spec` (`sqlite`, or a postgres:// URL whose database gets a new schema). */
export async function createBenchDatabase(spec: string, dir: string): Promise<BenchDatabase> {
  const name = `bench_${process.pid}_${++created}`;
  if (spec === 'sqlite') {
    const db = join(dir, `${name}.db`);
    return {
      engine: 'sqlite',
      label: 'sqlite',
      db,
      // Its WAL and shared-memory files too: a million users are a gigabyte the temp dir should not keep.
      drop: async () => {
        for (const suffix of ['', '-wal', '-shm', '.jwt-secret']) rmSync(`${db}${suffix}`, { force: true });
      },
    };
  }
  await onPostgres(spec, `create schema ${name}`);
  const url = new URL(spec);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    engine: 'postgresql',
    label: redactedDb(spec),
    db: url.toString(),
    drop: () => onPostgres(spec, `drop schema if exists ${name} cascade`),
  };
}

export async function onPostgres(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

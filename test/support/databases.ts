// Where a test's data lives: fresh SQLite files or fresh PostgreSQL schemas (see engine.ts).
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { ENGINE, POSTGRES_URL } from './engine.js';
import { tempDir } from './helpers.js';

let schemas = 0;
const created: string[] = [];

// Dropped when the whole file ends, not when a test does: a test's own after-hooks (closing its
// stores and feeds, which still poll) run in registration order, so a drop among them would come too early.
after(async () => {
  if (created.length === 0) return;
  const dropper = new pg.Client({ connectionString: POSTGRES_URL });
  await dropper.connect();
  await dropper.query(`drop schema if exists ${created.join(', ')} cascade`);
  await dropper.end();
});

/** A new, empty schema, dropped when the test file ends; the URL selects it through search_path. */
export async function freshSchemaUrl(): Promise<string> {
  const schema = `t_${process.pid}_${++schemas}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  created.push(schema);
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** The schema a URL of freshSchemaUrl's selects. */
export const schemaOf = (url: string): string => new URL(url).searchParams.get('options')!.split('=')[1]!;

/** `url` with the application_name its connections show in pg_stat_activity (its LISTEN connection: `<name>-listen`). */
export function named(url: string, applicationName: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', applicationName);
  return parsed.toString();
}

/** Where a test's data lives on the engine under test: a fresh SQLite file or a fresh PostgreSQL schema. */
export async function testDatabase(): Promise<string> {
  return ENGINE === 'postgres' ? freshSchemaUrl() : join(tempDir(), 'twinapi.db');
}

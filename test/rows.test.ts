// Rows read as values (better-sqlite3's raw rows) map to their columns in the order the reads select them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVENT_COLUMNS, eventRowFromValues, USER_COLUMNS, userRowFromValues } from '../src/store/rows.js';

describe('rows read as values', () => {
  it('name each value by its column, in USER_COLUMNS and EVENT_COLUMNS order', () => {
    // Each value is its own column's name: a value under another name is a mapping out of order.
    const named = (columns: readonly string[]) => Object.fromEntries(columns.map((c) => [c, c]));
    assert.deepEqual(userRowFromValues([...USER_COLUMNS]), named(USER_COLUMNS));
    assert.deepEqual(eventRowFromValues([...EVENT_COLUMNS]), named(EVENT_COLUMNS));
  });
});

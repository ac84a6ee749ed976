// The fast RFC 3339 formatter writes exactly what Date.prototype.toISOString writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTimestamp } from '../src/contract/timestamps.js';

describe('isoTimestamp', () => {
  it('writes what toISOString writes, across leap years, month and day edges, and the fast range', () => {
    const edges = [
      0,
      1,
      999,
      86_399_999,
      86_400_000,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    for (const ms of edges) assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
    // Every day of four centuries (every leap rule), at a time of day that walks through the clock.
    for (let day = 0; day < 146_097; day++) {
      const ms = Date.UTC(1970, 0, 1) + day * 86_400_000 + ((day * 7_919_777) % 86_400_000);
      assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
    }
  });

  it('leaves what is outside the fast range to the runtime, and throws as it does on an invalid time', () => {
    for (const ms of [-1, -62_198_755_200_000, 253_402_300_800_000, 8.64e15, 1.5])
      assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
    assert.throws(() => isoTimestamp(Number.NaN), RangeError);
  });
});

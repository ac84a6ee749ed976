// The access gate's two per-process tables, each bounded: verified tokens and rate-limit buckets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../src/domain/access.js';
import type { DomainError } from '../src/domain/errors.js';
import { localRateLimiter } from '../src/access/rate-limit.js';
import { cachedVerifier } from '../src/access/tokens.js';

describe('cachedVerifier', () => {
  let clock = 1_000_000;
  const verified: string[] = [];
  const verifier = cachedVerifier(
    async (token) => {
      verified.push(token);
      if (token.startsWith('bad')) throw new Error('a bad signature');
      return { subject: token, role: 'user', expiresAt: clock + 60_000 } satisfies Principal & { expiresAt: number };
    },
    () => clock,
  );

  it('verifies a token once while it is valid, and again once it has expired', async () => {
    verified.length = 0;
    assert.equal((await verifier('t1')).subject, 't1');
    assert.equal(verifier.known('t1')?.subject, 't1', 'a hit needs no promise');
    await verifier('t1');
    assert.deepEqual(verified, ['t1']);
    clock += 60_001;
    assert.equal(verifier.known('t1'), undefined, 'an expired token is not known');
    await verifier('t1');
    assert.deepEqual(verified, ['t1', 't1']);
  });

  it('keeps no failure: a bad token is checked every time', async () => {
    verified.length = 0;
    await assert.rejects(async () => verifier('bad1'));
    await assert.rejects(async () => verifier('bad1'));
    assert.deepEqual(verified, ['bad1', 'bad1']);
    assert.equal(verifier.known('bad1'), undefined);
  });

  it('keeps at most 10,000 tokens, the oldest verified going first', async () => {
    await verifier('first');
    for (let i = 0; i < 10_000; i++) await verifier(`other-${i}`);
    assert.equal(verifier.known('first'), undefined, 'pushed out by 10,000 newer ones');
    assert.equal(verifier.known('other-9999')?.subject, 'other-9999');
  });
});

describe('localRateLimiter', () => {
  const settings = { rps: 1, burst: 2, redisUrl: '', onWarning: () => {} };
  /** The local limiter answers at once; its type allows Redis' promise. */
  const taking = (limiter: ReturnType<typeof localRateLimiter>) => (key: string) =>
    limiter.take(key) as DomainError | undefined;

  it('gives each key a bucket of `burst` calls, refilled at `rps`', () => {
    let clock = 0;
    const take = taking(localRateLimiter(settings, () => clock));
    assert.equal(take('a'), undefined);
    assert.equal(take('a'), undefined);
    const refused = take('a');
    assert.equal(refused?.code, 'RATE_LIMITED');
    assert.equal(take('b'), undefined, 'another key has its own bucket');
    clock += 1000;
    assert.equal(take('a'), undefined, 'one call back after a second');
    assert.ok(take('a'), 'and only one');
  });

  it('gives the oldest bucket a second chance when the table is full (100,000 keys): one still in use is not the one dropped', () => {
    const clock = 0;
    const take = taking(localRateLimiter(settings, () => clock));
    take('hot');
    take('hot');
    assert.ok(take('hot'), 'at its limit');
    for (let i = 0; i < 100_000; i++) take(`new-${i}`);
    assert.ok(take('hot'), 'still at its limit: its emptied bucket was kept');
  });
});

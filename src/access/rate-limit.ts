// Calls per second per caller: a token bucket per principal, in this process or shared through Redis.
import { createClient } from 'redis';
import { type DomainError, rateLimited } from '../domain/errors.js';

export interface RateLimitSettings {
  /** Tokens added per second; 0 = no limit. */
  rps: number;
  /** The bucket's size: how many calls may come at once after a quiet spell. */
  burst: number;
  /** Shared buckets in Redis (every instance and worker draws from one); empty = this process's own. */
  redisUrl: string;
  onWarning: (message: string, error?: unknown) => void;
}

export interface RateLimiter {
  /** Takes one call from `key`'s bucket: RATE_LIMITED (with when to retry) when it is empty. */
  take(key: string): DomainError | undefined | Promise<DomainError | undefined>;
  close(): Promise<void>;
}

/** Buckets kept in memory at most; past it, those that have refilled go first (a full bucket is a new one). */
const LOCAL_KEYS = 100_000;
/** How long a call waits for Redis before this process decides alone. */
const REDIS_TIMEOUT_MS = 50;
/** At most one warning about Redis per this long. */
const WARN_EVERY_MS = 30_000;

const retryAfter = (tokens: number, rps: number) => Math.max(1, Math.ceil((1 - tokens) / rps));

function refusal(settings: RateLimitSettings, key: string, tokens: number): DomainError {
  const quota = `at most ${settings.rps} calls per second (bursts of ${settings.burst})`;
  return rateLimited(quota, settings.rps, key, retryAfter(tokens, settings.rps));
}

/** Token buckets in this process. */
export function localRateLimiter(settings: RateLimitSettings, now = () => performance.now()): RateLimiter {
  // Kept in the order they were made, and changed in place: a call is a lookup and two additions
  // (re-inserting each bucket to keep the order of use cost more than the rest of the check).
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refilled = (bucket: { tokens: number; at: number }, time: number) =>
    Math.min(settings.burst, bucket.tokens + ((time - bucket.at) * settings.rps) / 1000);
  /** Past the limit, the oldest bucket goes if it has refilled; one still in use moves to the end instead (a second chance), a few times at most. */
  const evict = (time: number) => {
    for (let tries = 0; tries < 8; tries++) {
      const [key, bucket] = buckets.entries().next().value!;
      buckets.delete(key);
      if (refilled(bucket, time) >= settings.burst) return;
      buckets.set(key, bucket);
    }
    buckets.delete(buckets.keys().next().value!);
  };
  return {
    take(key) {
      const time = now();
      const bucket = buckets.get(key);
      if (!bucket) {
        buckets.set(key, { tokens: settings.burst - 1, at: time });
        if (buckets.size > LOCAL_KEYS) evict(time);
        return undefined; // A new bucket is full, and a burst is at least 1.
      }
      const tokens = refilled(bucket, time);
      bucket.at = time;
      if (tokens < 1) {
        bucket.tokens = tokens;
        return refusal(settings, key, tokens);
      }
      bucket.tokens = tokens - 1;
      return undefined;
    },
    close: async () => {},
  };
}

// One bucket per key in a Redis hash, refilled by Redis' own clock so every instance agrees;
// the key expires once the bucket would be full again.
const BUCKET_SCRIPT = `
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
`;

/**
 * Buckets shared through Redis. When Redis cannot be reached (or takes over REDIS_TIMEOUT_MS), this
 * process falls back to its own buckets (each instance then enforces the limit alone: limits are
 * kept, only not shared), warns at most every 30 s, and goes back to Redis as soon as it answers.
 */
export function redisRateLimiter(settings: RateLimitSettings): RateLimiter {
  const local = localRateLimiter(settings);
  const client = createClient({
    url: settings.redisUrl,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5000) },
  });
  let warnedAt = -Infinity;
  const warn = (error: unknown) => {
    if (performance.now() - warnedAt < WARN_EVERY_MS) return;
    warnedAt = performance.now();
    settings.onWarning('the rate limiter cannot reach Redis: each instance limits on its own until it can', error);
  };
  client.on('error', warn);
  void client.connect().catch(warn);
  let sha: string | undefined;
  const run = async (key: string): Promise<[number, string]> => {
    const options = { keys: [`twinapi:rate:${key}`], arguments: [String(settings.rps), String(settings.burst)] };
    try {
      sha ??= await client.scriptLoad(BUCKET_SCRIPT);
      return (await client.evalSha(sha, options)) as [number, string];
    } catch (error) {
      // A restarted Redis has forgotten the script.
      if (!String(error).includes('NOSCRIPT')) throw error;
      sha = undefined;
      return (await client.eval(BUCKET_SCRIPT, options)) as [number, string];
    }
  };
  return {
    async take(key) {
      if (!client.isReady) {
        warn(new Error('not connected'));
        return local.take(key);
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
        });
        const [allowed, tokens] = await Promise.race([run(key), timeout]);
        return allowed === 1 ? undefined : refusal(settings, key, Number(tokens));
      } catch (error) {
        warn(error);
        return local.take(key);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      client.removeAllListeners('error');
      client.on('error', () => {});
      await client.close().catch(() => {});
    },
  };
}

/** The limiter the settings ask for: none (rps 0), this process's, or Redis-shared. */
export function rateLimiter(settings: RateLimitSettings): RateLimiter | undefined {
  if (settings.rps === 0) return undefined;
  return settings.redisUrl === '' ? localRateLimiter(settings) : redisRateLimiter(settings);
}

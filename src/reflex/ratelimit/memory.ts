/**
 * In-process bucket store. Bounded: past `maxKeys` buckets it evicts, preferring buckets that have
 * refilled completely (forgetting a full bucket changes nothing). No timers: refill is computed from
 * elapsed time when a bucket is touched.
 */
import type { RateLimitStore } from "../ratelimit.js";

export interface MemoryStoreOptions {
  /** Default 100 000. */
  maxKeys?: number;
  /** Clock in milliseconds (default performance.now, which never goes backwards). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  rate: number;
  burst: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!(maxKeys >= 1)) throw new RangeError("maxKeys must be at least 1");
  const now = options.now ?? (() => performance.now());
  // Insertion order doubles as recency order: a touched bucket is re-inserted at the end.
  const buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, t: number): number => Math.min(b.burst, b.tokens + (Math.max(0, t - b.at) / 1000) * b.rate);

  function evict(t: number): void {
    // Look at the coldest few; drop the ones that are full anyway, else the coldest one.
    let scanned = 0;
    for (const [k, b] of buckets) {
      if (buckets.size < maxKeys) return;
      if (refill(b, t) >= b.burst) buckets.delete(k);
      if (++scanned >= 64) break;
    }
    while (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
  }

  return {
    async take(key, rate, burst, cost) {
      const t = now();
      let b = buckets.get(key);
      if (b === undefined) {
        if (buckets.size >= maxKeys) evict(t);
        b = { tokens: burst, at: t, rate, burst };
      } else {
        buckets.delete(key);
        b.tokens = refill({ ...b, rate, burst }, t);
        b.at = t;
        b.rate = rate;
        b.burst = burst;
      }
      buckets.set(key, b);
      const allowed = b.tokens >= cost;
      if (allowed) b.tokens -= cost;
      return { allowed, tokens: b.tokens };
    },
    async reset(key) {
      buckets.delete(key);
    },
    async close() {
      buckets.clear();
    },
  };
}

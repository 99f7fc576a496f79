/**
 * Token-bucket rate limiting, keyed by any string the caller picks (API key, client id, IP).
 *
 *   const limiter = createRateLimiter({ tiers: { free: { rate_per_second: 1, burst: 10 } } });
 *   const d = await limiter.take(apiKey, "free");          // cost defaults to 1
 *   reply.headers(rateLimitHeaders(d));
 *   assertAllowed(d);                                       // throws the core 429 (LmxError) when denied
 *
 * A bucket holds at most `burst` tokens and refills at `rate_per_second`; a request of cost c is
 * allowed when c tokens are available. Two stores share the interface: in-memory (one process) and
 * Redis (several LMX instances share limits; see ratelimit/redis.ts).
 */
import { invalidRequest, rateLimited } from "../errors.js";
import { createMemoryStore } from "./ratelimit/memory.js";

export interface RateLimitTier {
  rate_per_second: number;
  burst: number;
}

export type RateLimitTiers = Readonly<Record<string, RateLimitTier>>;

export interface RateLimitDecision {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** The bucket size (burst). */
  limit: number;
  /** 0 when allowed; otherwise whole seconds until `cost` tokens will be available (≥ 1). */
  retryAfterSeconds: number;
  /** Whole seconds until the bucket is full again. */
  resetSeconds: number;
}

/** Storage for buckets. `take` must be atomic per key. */
export interface RateLimitStore {
  /** Refill, then take `cost` tokens if available. Returns whether it did and the tokens left (fractional). */
  take(key: string, ratePerSecond: number, burst: number, cost: number): Promise<{ allowed: boolean; tokens: number }>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  tiers: RateLimitTiers;
  /** Default: an in-memory store. */
  store?: RateLimitStore;
}

export interface RateLimiter {
  take(key: string, tier: string, cost?: number): Promise<RateLimitDecision>;
  reset(key: string, tier: string): Promise<void>;
  close(): Promise<void>;
}

function validateTier(name: string, t: RateLimitTier): void {
  if (!(t.rate_per_second > 0) || !Number.isFinite(t.rate_per_second)) throw new RangeError(`tier '${name}': rate_per_second must be > 0`);
  if (!(t.burst >= 1) || !Number.isFinite(t.burst)) throw new RangeError(`tier '${name}': burst must be >= 1`);
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const tiers = new Map(Object.entries(options.tiers));
  for (const [name, t] of tiers) validateTier(name, t);
  const store = options.store ?? createMemoryStore();

  const tierOf = (name: string): RateLimitTier => {
    const t = tiers.get(name);
    if (t === undefined) throw new RangeError(`unknown rate-limit tier '${name}'`);
    return t;
  };
  // Tier names cannot contain the separator, so "a:b" + "c" never collides with "a" + "b:c".
  const bucketKey = (key: string, tier: string) => `${tier}\u0000${key}`;

  return {
    async take(key, tierName, cost = 1) {
      const tier = tierOf(tierName);
      if (!(cost > 0) || !Number.isFinite(cost)) throw new RangeError("cost must be a positive number");
      if (cost > tier.burst) {
        // It could never be allowed; a 429 would only make the client retry forever.
        throw invalidRequest(`Request cost ${cost} exceeds the rate limit of ${tier.burst} for tier '${tierName}'.`, null, "cost_exceeds_limit");
      }
      const { allowed, tokens } = await store.take(bucketKey(key, tierName), tier.rate_per_second, tier.burst, cost);
      return {
        allowed,
        remaining: Math.max(0, Math.floor(tokens + 1e-9)),
        limit: tier.burst,
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - tokens) / tier.rate_per_second)),
        resetSeconds: Math.max(0, Math.ceil((tier.burst - tokens) / tier.rate_per_second - 1e-9)),
      };
    },
    reset: (key, tierName) => (tierOf(tierName), store.reset(bucketKey(key, tierName))),
    close: () => store.close(),
  };
}

/** The conventional headers for a decision (draft IETF RateLimit fields, as most APIs emit them). */
export function rateLimitHeaders(d: RateLimitDecision): Record<string, string> {
  const h: Record<string, string> = {
    "x-ratelimit-limit": String(d.limit),
    "x-ratelimit-remaining": String(d.remaining),
    "x-ratelimit-reset": String(d.resetSeconds),
  };
  if (!d.allowed) h["retry-after"] = String(d.retryAfterSeconds);
  return h;
}

/** Throw the core 429 (LmxError with retryAfter) when the decision denies the request. */
export function assertAllowed(d: RateLimitDecision, message = "Rate limit exceeded. Please retry later."): void {
  if (!d.allowed) throw rateLimited(message, d.retryAfterSeconds);
}

export { createMemoryStore, type MemoryStoreOptions } from "./ratelimit/memory.js";
export { createRedisStore, type RedisStoreOptions } from "./ratelimit/redis.js";

/**
 * The reflex layer: fast, pure detectors that run before a request reaches a model (and, in the
 * orchestrator's guardian arm, on what a model produced). No I/O except the optional Redis rate-limit
 * backend.
 */
export * from "./pii/index.js";
export * from "./injection/index.js";
export { createScreener, type ScreenCacheOptions, type ScreenChecks, type ScreenResult, type Screener, type ScreenerOptions } from "./screen.js";
export { createLruCache, type LruCache, type LruCacheOptions } from "./cache.js";
export { atLeast, lowerSeverity, maxSeverity, SEVERITIES, severityRank, type Severity } from "./severity.js";
export { normalizeForDetection, type NormalizeOptions } from "./normalize.js";
export {
  assertAllowed, createMemoryStore, createRateLimiter, createRedisStore, rateLimitHeaders, type MemoryStoreOptions,
  type RateLimitDecision, type RateLimiter, type RateLimiterOptions, type RateLimitStore, type RateLimitTier,
  type RateLimitTiers, type RedisStoreOptions,
} from "./ratelimit.js";

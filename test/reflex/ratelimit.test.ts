import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import {
  assertAllowed, createMemoryStore, createRateLimiter, createRedisStore, rateLimitHeaders,
} from "../../src/reflex/ratelimit.js";

const tiers = { free: { rate_per_second: 10, burst: 5 }, pro: { rate_per_second: 100, burst: 50 } };

describe("rate limiter (memory)", () => {
  it("allows a burst, then denies, then refills", async () => {
    let t = 0;
    const limiter = createRateLimiter({ tiers, store: createMemoryStore({ now: () => t }) });
    for (let i = 0; i < 5; i++) {
      const d = await limiter.take("key-a", "free");
      expect(d).toMatchObject({ allowed: true, remaining: 4 - i, limit: 5, retryAfterSeconds: 0 });
    }
    const denied = await limiter.take("key-a", "free");
    expect(denied).toMatchObject({ allowed: false, remaining: 0, limit: 5, retryAfterSeconds: 1, resetSeconds: 1 });
    t += 100; // 10/s → one token
    expect((await limiter.take("key-a", "free")).allowed).toBe(true);
    expect((await limiter.take("key-a", "free")).allowed).toBe(false);
    t += 10_000; // refills to burst, never beyond
    expect((await limiter.take("key-a", "free")).remaining).toBe(4);
  });

  it("keys and tiers are independent, cost is honoured", async () => {
    const limiter = createRateLimiter({ tiers });
    expect((await limiter.take("a", "free", 5)).allowed).toBe(true);
    expect((await limiter.take("a", "free")).allowed).toBe(false);
    expect((await limiter.take("b", "free")).allowed).toBe(true);
    expect((await limiter.take("a", "pro", 20)).remaining).toBe(30);
    await limiter.reset("a", "free");
    expect((await limiter.take("a", "free")).allowed).toBe(true);
  });

  it("rejects unknown tiers, bad costs and costs above the burst", async () => {
    const limiter = createRateLimiter({ tiers });
    await expect(limiter.take("a", "gold")).rejects.toThrow(RangeError);
    await expect(limiter.take("a", "free", 0)).rejects.toThrow(RangeError);
    await expect(limiter.take("a", "free", 6)).rejects.toMatchObject({ status: 400, code: "cost_exceeds_limit" });
    expect(() => createRateLimiter({ tiers: { bad: { rate_per_second: 0, burst: 1 } } })).toThrow(RangeError);
  });

  it("maps a denial to a 429 with Retry-After and x-ratelimit-* headers", async () => {
    const limiter = createRateLimiter({ tiers: { t: { rate_per_second: 0.5, burst: 1 } } });
    const ok = await limiter.take("k", "t");
    expect(rateLimitHeaders(ok)).toEqual({ "x-ratelimit-limit": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2" });
    assertAllowed(ok);
    const denied = await limiter.take("k", "t");
    expect(rateLimitHeaders(denied)["retry-after"]).toBe("2");
    try {
      assertAllowed(denied);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LmxError);
      expect(err).toMatchObject({ status: 429, type: "rate_limit_error", retryAfter: 2 });
    }
  });

  it("stays bounded: evicts past maxKeys, full buckets first", async () => {
    let t = 0;
    const store = createMemoryStore({ maxKeys: 3, now: () => t });
    const limiter = createRateLimiter({ tiers, store });
    await limiter.take("a", "free", 5); // empty bucket
    await limiter.take("b", "free");
    await limiter.take("c", "free");
    t += 150; // b and c (4 tokens each) refill to full; a (0 tokens) only to 1.5
    await limiter.take("d", "free");
    // "a" kept its state (it was not full), so it is still limited.
    expect((await limiter.take("a", "free", 5)).allowed).toBe(false);
  });

  it("refills in real time (generous timing for a busy machine)", async () => {
    const limiter = createRateLimiter({ tiers: { t: { rate_per_second: 20, burst: 2 } } });
    expect((await limiter.take("rt", "t", 2)).allowed).toBe(true);
    expect((await limiter.take("rt", "t")).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect((await limiter.take("rt", "t")).allowed).toBe(true);
  });
});

describe("rate limiter (Redis, shared between instances)", () => {
  const prefix = `lmx:test:rl:${randomUUID()}:`;
  let redis: Redis;
  let other: Redis;

  beforeAll(async () => {
    redis = new Redis({ host: "127.0.0.1", port: 6379, maxRetriesPerRequest: 1, lazyConnect: true });
    other = new Redis({ host: "127.0.0.1", port: 6379, maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    await other.connect();
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await other.quit();
  });

  it("two limiters on two connections share one bucket", async () => {
    const a = createRateLimiter({ tiers, store: createRedisStore({ client: redis, prefix }) });
    const b = createRateLimiter({ tiers, store: createRedisStore({ client: other, prefix }) });
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) results.push((await (i % 2 ? a : b).take("shared", "free")).allowed);
    expect(results).toEqual([true, true, true, true, true, false]);
    const d = await a.take("shared", "free");
    expect(d).toMatchObject({ allowed: false, limit: 5, retryAfterSeconds: 1 });
    await new Promise((r) => setTimeout(r, 250)); // 10/s: at least one token back
    expect((await b.take("shared", "free")).allowed).toBe(true);
  });

  it("is atomic under concurrency", async () => {
    const a = createRateLimiter({ tiers, store: createRedisStore({ client: redis, prefix }) });
    const b = createRateLimiter({ tiers, store: createRedisStore({ client: other, prefix }) });
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take("burst", "pro")));
    expect(all.filter((d) => d.allowed).length).toBe(40);
    const more = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).take("burst", "pro")));
    // 50 burst: 10 more fit, plus whatever refilled meanwhile (100/s) — but never all 30.
    expect(more.filter((d) => d.allowed).length).toBeLessThan(30);
    expect(more.filter((d) => d.allowed).length).toBeGreaterThanOrEqual(10);
  });

  it("falls back to EVAL when the script is not cached (EVALSHA → NOSCRIPT)", async () => {
    // SCRIPT FLUSH would disturb everyone else on this Redis; instead ask for a SHA the server cannot
    // have, which makes it answer NOSCRIPT for real.
    let evalshaCalls = 0;
    const client = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === "evalsha") {
          return (_sha: string, ...rest: Array<string | number>) => {
            evalshaCalls++;
            return target.evalsha("0".repeat(40), ...(rest as [number, ...string[]]));
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const a = createRateLimiter({ tiers, store: createRedisStore({ client, prefix }) });
    expect((await a.take("flushed", "free")).allowed).toBe(true);
    expect((await a.take("flushed", "free")).remaining).toBe(3);
    expect(evalshaCalls).toBe(2);
  });

  it("expires idle buckets and resets on demand", async () => {
    const a = createRateLimiter({ tiers, store: createRedisStore({ client: redis, prefix }) });
    await a.take("ttl", "free", 5);
    const ttl = await redis.pttl(`${prefix}free\u0000ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500); // refills in 0.5 s, plus a 1 s margin
    await a.reset("ttl", "free");
    expect((await a.take("ttl", "free")).remaining).toBe(4);
  });
});

/**
 * Redis bucket store, so several LMX instances share one limit. Each take is one atomic Lua script
 * (refill + take + expiry) run with EVALSHA, falling back to EVAL when the server does not have the
 * script cached (after a restart or SCRIPT FLUSH). Time comes from the Redis server (TIME), so
 * instances with skewed clocks still agree.
 */
import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { RateLimitStore } from "../ratelimit.js";

export interface RedisStoreOptions {
  client: Redis | Cluster;
  /** Prefix for every bucket key (default "lmx:rl:"). */
  prefix?: string;
}

// KEYS[1] bucket; ARGV: rate per second, burst, cost. Returns {allowed (0/1), tokens as a string}.
// The hash expires once it would have refilled completely: a missing key means a full bucket.
const SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
`;

const SHA = createHash("sha1").update(SCRIPT).digest("hex");

export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { client } = options;
  const prefix = options.prefix ?? "lmx:rl:";

  async function run(key: string, args: string[]): Promise<unknown> {
    try {
      return await client.evalsha(SHA, 1, key, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes("NOSCRIPT")) throw err;
      return client.eval(SCRIPT, 1, key, ...args);
    }
  }

  return {
    async take(key, rate, burst, cost) {
      const reply = await run(prefix + key, [String(rate), String(burst), String(cost)]);
      if (!Array.isArray(reply) || reply.length !== 2) throw new Error("unexpected rate-limit script reply");
      return { allowed: Number(reply[0]) === 1, tokens: Number(reply[1]) };
    },
    async reset(key) {
      await client.del(prefix + key);
    },
    // The client belongs to the caller (it is usually shared); closing the store does not quit it.
    async close() {},
  };
}

/** The Lua script's SHA-1, exported for tests and for operators who preload scripts. */
export const RATE_LIMIT_SCRIPT_SHA = SHA;

import { createHash } from "node:crypto";
import type { LmxConfig } from "../config/schema.js";
import { LmxError } from "../errors.js";
import type { GenerateEvent } from "../engine/types.js";
import {
  atLeast,
  createRateLimiter,
  createRedisStore,
  createScreener,
  createTokenVault,
  redact,
  type BuiltinPiiType,
  type InjectionMatch,
  type RateLimitDecision,
  type RateLimiter,
  type Screener,
  type Severity,
  type StreamRestorer,
  type TokenVault,
} from "../reflex/index.js";
import type { Logger } from "../telemetry/logger.js";

type ReflexConfig = LmxConfig["reflex"];

/** What screening found in one request: counts and kinds only — never the text. */
export interface ReflexFindings {
  pii: number;
  piiTypes: Record<string, number>;
  injection: Severity;
  categories: string[];
  redacted: number;
}

/** The outcome of the gate for one request. */
export interface ReflexVerdict {
  findings: ReflexFindings;
  /** `x-lmx-reflex` header value: `pii=2;injection=none`. */
  header: string;
  /** Present in token-redaction mode: restores the values in what the model answers. */
  vault: TokenVault | null;
}

export function reflexHeader(findings: ReflexFindings): string {
  let header = `pii=${findings.pii};injection=${findings.injection}`;
  if (findings.categories.length > 0) header += `;categories=${findings.categories.join(",")}`;
  if (findings.redacted > 0) header += `;redacted=${findings.redacted}`;
  return header;
}

/**
 * The reflex layer in front of the models, driven by config (re-read on every request, so a config
 * reload changes the policy at once): screening of every text a request carries, PII redaction,
 * blocking of injections in enforce mode, and rate limits. The detectors are pure and fast; the only
 * I/O is the optional Redis store of the rate limiter.
 */
export class ReflexGate {
  private screenerShape = "";
  private screenerValue: Screener | null = null;
  private screenerFrom: Pick<ReflexConfig, "pii" | "cache"> | { pii: null; cache: null } = { pii: null, cache: null };
  private limiterShape = "";
  private limiterValue: { limiter: RateLimiter; close(): Promise<void> } | null = null;

  constructor(
    private readonly config: () => ReflexConfig,
    private readonly log: Logger,
  ) {}

  /** The screener for the current settings (shared by the API and Octo). */
  screener(): Screener {
    const config = this.config();
    // A reload replaces the config objects: the same ones mean the same settings, with no need to
    // compare their contents on every request.
    if (this.screenerValue && config.pii === this.screenerFrom.pii && config.cache === this.screenerFrom.cache) return this.screenerValue;
    this.screenerFrom = { pii: config.pii, cache: config.cache };
    const shape = JSON.stringify([config.pii, config.cache]);
    if (!this.screenerValue || shape !== this.screenerShape) {
      this.screenerValue = createScreener({
        pii: {
          ...(config.pii.types ? { types: config.pii.types as BuiltinPiiType[] } : {}),
          minConfidence: config.pii.min_confidence,
          custom: config.pii.custom_patterns.map((p) => ({ name: p.name, regex: p.regex, confidence: p.confidence, caseInsensitive: p.case_insensitive })),
        },
        cache: { maxEntries: config.cache.max_entries, ttlMs: config.cache.ttl_seconds * 1000 },
      });
      this.screenerShape = shape;
    }
    return this.screenerValue;
  }

  /**
   * Screens the texts of a request and, per policy, redacts them in place (`texts[i].set`) and blocks
   * critical injections. Returns null when the reflex layer is off.
   */
  inspect(texts: Array<{ get(): string; set(value: string): void }>): ReflexVerdict | null {
    const config = this.config();
    if (config.mode === "off") return null;
    const screener = this.screener();
    const findings: ReflexFindings = { pii: 0, piiTypes: {}, injection: "none", categories: [], redacted: 0 };
    const redacting = config.mode === "redact" || config.mode === "enforce";
    const vault = redacting && config.redaction === "token" ? createTokenVault() : null;
    const blocking: InjectionMatch[] = [];
    for (const text of texts) {
      const value = text.get();
      if (!value) continue;
      const result = screener.screen(value);
      findings.pii += result.pii.length;
      for (const match of result.pii) findings.piiTypes[match.type] = (findings.piiTypes[match.type] ?? 0) + 1;
      for (const match of result.injection) {
        if (atLeast(match.severity, findings.injection)) findings.injection = match.severity;
        if (!findings.categories.includes(match.category)) findings.categories.push(match.category);
        if (config.mode === "enforce" && atLeast(match.severity, config.block_severity)) blocking.push(match);
      }
      if (redacting && result.pii.length > 0) {
        const redaction = redact(value, result.pii, {
          mode: config.redaction,
          ...(config.hash_salt ? { salt: config.hash_salt } : {}),
          ...(vault ? { vault } : {}),
        });
        findings.redacted += redaction.redacted;
        text.set(redaction.text);
      }
    }
    if (findings.pii > 0 || findings.injection !== "none") {
      this.log.info({ reflex: { pii: findings.piiTypes, injection: findings.injection, categories: findings.categories, redacted: findings.redacted, mode: config.mode } }, "reflex findings");
    }
    if (blocking.length > 0) {
      const categories = [...new Set(blocking.map((m) => m.category))];
      throw new LmxError(
        `The request was blocked by the content policy: a prompt injection was detected (${categories.join(", ")}).`,
        { status: 400, type: "invalid_request_error", code: "blocked_by_policy", param: categories[0] },
      );
    }
    return { findings, header: reflexHeader(findings), vault: vault && vault.size > 0 ? vault : null };
  }

  /** Rate-limit decision for a caller, or null when rate limiting is off. */
  async rateLimit(caller: { apiKey: string | null; clientId: string | null; ip: string }): Promise<{ decision: RateLimitDecision; tier: string } | null> {
    const config = this.config().rate_limit;
    if (!config.enabled) return null;
    let key: string | null = null;
    for (const source of config.key_by) {
      if (source === "api_key" && caller.apiKey) key = `key:${createHash("sha256").update(caller.apiKey).digest("hex").slice(0, 24)}`;
      else if (source === "client_id" && caller.clientId) key = `client:${caller.clientId}`;
      else if (source === "ip") key = `ip:${caller.ip}`;
      if (key) break;
    }
    if (!key) return null;
    // Tiers are assigned by client id or IP as given, or by an API key's first 8 characters ("key:abcd1234").
    const tier =
      config.clients[key.slice(key.indexOf(":") + 1)] ?? (caller.apiKey ? config.clients[`key:${caller.apiKey.slice(0, 8)}`] : undefined) ?? config.default_tier;
    return { decision: await this.limiter().take(key, tier), tier };
  }

  async close(): Promise<void> {
    await this.limiterValue?.close();
    this.limiterValue = null;
  }

  private limiter(): RateLimiter {
    const config = this.config().rate_limit;
    const shape = JSON.stringify([config.backend, config.redis_url, config.key_prefix, config.tiers]);
    if (!this.limiterValue || shape !== this.limiterShape) {
      const previous = this.limiterValue;
      void previous?.close().catch(() => {});
      this.limiterShape = shape;
      if (config.backend === "redis") {
        const redisUrl = config.redis_url;
        let client: import("ioredis").Redis | null = null;
        const pending = import("ioredis").then(({ Redis }) => {
          client = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
          client.on("error", (err: Error) => this.log.warn({ err: err.message }, "rate-limit Redis error"));
          return createRateLimiter({ tiers: config.tiers, store: createRedisStore({ client, prefix: config.key_prefix }) });
        });
        // The limiter is created asynchronously (ioredis is loaded on first use); calls wait for it.
        const limiter: RateLimiter = {
          take: async (key, tier, cost) => (await pending).take(key, tier, cost),
          reset: async (key, tier) => (await pending).reset(key, tier),
          close: async () => (await pending).close(),
        };
        this.limiterValue = {
          limiter,
          close: async () => {
            await limiter.close().catch(() => {});
            (client as import("ioredis").Redis | null)?.disconnect();
          },
        };
      } else {
        const limiter = createRateLimiter({ tiers: config.tiers });
        this.limiterValue = { limiter, close: () => limiter.close() };
      }
    }
    return this.limiterValue.limiter;
  }
}

/**
 * Restores vault tokens in a generation's events, per choice, as they stream: the model saw
 * "[EMAIL_1]"; the caller reads the address.
 */
export function restoringEvents(vault: TokenVault): (events: GenerateEvent[]) => GenerateEvent[] {
  const restorers = new Map<string, StreamRestorer>();
  const restorer = (key: string) => {
    let value = restorers.get(key);
    if (!value) {
      value = vault.createRestorer();
      restorers.set(key, value);
    }
    return value;
  };
  return (events) => {
    const out: GenerateEvent[] = [];
    for (const event of events) {
      if (event.type === "text") {
        out.push({ ...event, text: restorer(`t${event.choice}`).push(event.text) });
      } else if (event.type === "tool_call_args") {
        out.push({ ...event, text: restorer(`a${event.choice}:${event.index}`).push(event.text) });
      } else if (event.type === "finish") {
        const rest = restorer(`t${event.choice}`).flush();
        if (rest) out.push({ type: "text", choice: event.choice, text: rest });
        for (const [key, value] of restorers) {
          if (key.startsWith(`a${event.choice}:`)) {
            const args = value.flush();
            if (args) out.push({ type: "tool_call_args", choice: event.choice, index: Number(key.split(":")[1]), text: args });
          }
        }
        out.push(event);
      } else {
        out.push(event);
      }
    }
    return out;
  };
}

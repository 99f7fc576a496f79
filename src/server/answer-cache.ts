import { createHash } from "node:crypto";
import type { GenerateEvent, GenerateRequest, GenerateResult } from "../engine/types.js";
import { createLruCache, type LruCache } from "../reflex/cache.js";

export interface AnswerCacheSettings {
  enabled: boolean;
  max_entries: number;
  ttl_seconds: number;
}

/** One engine request's answer: every event it produced, and its result. */
export interface CachedPart {
  events: GenerateEvent[];
  result: GenerateResult;
}

/**
 * The answer cache: an identical deterministic request (temperature 0 or a fixed seed; same model,
 * messages and parameters) gets the stored answer, streamed or not, instead of a new generation.
 * Events are stored rather than a response body, so a streamed request can be answered from a
 * non-streamed one and the other way round. Off by default.
 */
export class AnswerCache {
  private cache: LruCache<string, CachedPart[]> | null = null;
  private shape = "";

  constructor(private readonly settings: () => AnswerCacheSettings) {}

  /** The key of a request, or null when it is not cacheable (cache off, or not deterministic). */
  key(modelId: string, parts: readonly GenerateRequest[]): string | null {
    if (!this.current()) return null;
    if (!parts.every((part) => part.sampling.temperature === 0 || part.sampling.seed !== undefined)) return null;
    return createHash("sha256").update(modelId).update("\0").update(JSON.stringify(parts)).digest("base64url");
  }

  get(key: string): CachedPart[] | undefined {
    return this.current()?.get(key);
  }

  set(key: string, parts: CachedPart[]): void {
    this.current()?.set(key, parts);
  }

  /** The cache for the current settings: a config reload that resizes it starts a new one. */
  private current(): LruCache<string, CachedPart[]> | null {
    const settings = this.settings();
    if (!settings.enabled) return null;
    const shape = `${settings.max_entries}:${settings.ttl_seconds}`;
    if (!this.cache || shape !== this.shape) {
      this.cache = createLruCache({ maxEntries: settings.max_entries, ttlMs: settings.ttl_seconds * 1000 });
      this.shape = shape;
    }
    return this.cache;
  }
}

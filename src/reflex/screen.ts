/**
 * The combined screen: PII and injection detection over one lexer pass, with a verdict cache.
 *
 *   const screener = createScreener();
 *   const r = screener.screen(text);            // or screen(text, { pii: false })
 *   r.pii, r.injection, r.maxSeverity, r.normalizedHash, r.elapsedMicros
 *
 * `screen` is synchronous and allocation-light; a screener owns scratch buffers, so create one per
 * server (or per worker), not per request. Results may come from the cache and are shared: treat them
 * as read-only.
 */
import { createLruCache, type LruCache } from "./cache.js";
import { createLexer } from "./lexer.js";
import { createPiiAnalyzer, PII_VOCABULARY } from "./pii/analyze.js";
import { SECRET_PREFIXES } from "./pii/secrets.js";
import type { PiiDetectorOptions, PiiMatch } from "./pii/types.js";
import { createInjectionAnalyzer } from "./injection/analyze.js";
import { compileRules, injectionVocabulary } from "./injection/compile.js";
import type { InjectionDetectorOptions, InjectionMatch } from "./injection/types.js";
import { maxSeverity, type Severity } from "./severity.js";
import { buildVocabulary } from "./vocab.js";

export interface ScreenChecks {
  /** Default true. */
  pii?: boolean;
  /** Default true. */
  injection?: boolean;
}

export interface ScreenResult {
  readonly pii: readonly PiiMatch[];
  readonly injection: readonly InjectionMatch[];
  /** Highest injection severity after context ("none" when nothing matched). PII has no severity. */
  readonly maxSeverity: Severity;
  /**
   * Hash of the normalised text (see LexResult.normalizedHash): equal for texts that differ only in
   * case, invisible characters, look-alike letters or spacing. Seeded per screener. "" for empty text.
   */
  readonly normalizedHash: string;
  /** Wall time spent in this call. */
  readonly elapsedMicros: number;
  /** True when the verdict came from the cache. */
  readonly cached: boolean;
}

export interface ScreenCacheOptions {
  /** Default 4096. */
  maxEntries?: number;
  /** Default 300 000 (5 minutes). */
  ttlMs?: number;
  /** Texts shorter than this are screened every time (default 256). */
  minLength?: number;
  /** Texts longer than this are not kept, to bound memory (default 256 KiB). */
  maxLength?: number;
}

export interface ScreenerOptions {
  pii?: PiiDetectorOptions;
  injection?: InjectionDetectorOptions;
  /** Verdict cache; `false` disables it. */
  cache?: ScreenCacheOptions | false;
  /** Seed for normalizedHash (default random per screener, so hashes cannot be precomputed). */
  hashSeed?: number;
}

export interface Screener {
  screen(text: string, checks?: ScreenChecks): ScreenResult;
}

interface CacheEntry {
  text: string;
  result: ScreenResult;
}

const EMPTY_PII: readonly PiiMatch[] = Object.freeze([]) as readonly PiiMatch[];
const EMPTY_INJECTION: readonly InjectionMatch[] = Object.freeze([]) as readonly InjectionMatch[];

export function createScreener(options: ScreenerOptions = {}): Screener {
  const vocab = buildVocabulary([...PII_VOCABULARY, ...injectionVocabulary()]);
  const seed = options.hashSeed ?? (Math.random() * 0x7fffffff) | 0;
  const lexer = createLexer(vocab, { secretPrefixes: SECRET_PREFIXES, hashSeed: seed });
  const pii = createPiiAnalyzer(vocab, options.pii);
  const injection = createInjectionAnalyzer(lexer, compileRules(vocab), options.injection);
  const cacheOpts = options.cache === false ? null : (options.cache ?? {});
  const cache: LruCache<string, CacheEntry> | null = cacheOpts
    ? createLruCache({ maxEntries: cacheOpts.maxEntries ?? 4096, ttlMs: cacheOpts.ttlMs ?? 300_000 })
    : null;
  const minLength = cacheOpts?.minLength ?? 256;
  const maxLength = cacheOpts?.maxLength ?? 256 * 1024;

  function screen(text: string, checks?: ScreenChecks): ScreenResult {
    const t0 = performance.now();
    const wantPii = checks?.pii ?? true;
    const wantInjection = checks?.injection ?? true;
    const useCache = cache !== null && text.length >= minLength && text.length <= maxLength;
    // The cache key only has to be cheap and spread entries: a hit is confirmed against the exact text,
    // so the verdict is never reused for a different string, and the lookup costs O(1), not a pass.
    const key = useCache ? sampleKey(text, seed) + (wantPii ? "p" : "") + (wantInjection ? "i" : "") : "";
    if (useCache) {
      const hit = (cache as LruCache<string, CacheEntry>).get(key);
      if (hit !== undefined && hit.text === text) return { ...hit.result, cached: true, elapsedMicros: micros(t0) };
    }
    let piiMatches = EMPTY_PII;
    let injectionMatches = EMPTY_INJECTION;
    let max: Severity = "none";
    let normalizedHash = "";
    if (text.length > 0) {
      const lex = lexer.lex(text);
      normalizedHash = lex.normalizedHash;
      if (wantPii) {
        const found = pii.analyze(lex);
        if (found.length > 0) piiMatches = found;
      }
      // Last: it may re-lex decoded segments, invalidating `lex`.
      if (wantInjection) {
        const found = injection.analyze(lex);
        if (found.length > 0) {
          injectionMatches = found;
          for (const m of found) max = maxSeverity(max, m.severity);
        }
      }
    }
    const result: ScreenResult = {
      pii: piiMatches, injection: injectionMatches, maxSeverity: max, normalizedHash, elapsedMicros: micros(t0), cached: false,
    };
    if (useCache) (cache as LruCache<string, CacheEntry>).set(key, { text, result });
    return result;
  }

  return { screen };
}

/** Length plus a hash of 64 evenly spaced code units and both ends. */
function sampleKey(text: string, seed: number): string {
  const n = text.length;
  let h = 0x811c9dc5 ^ seed;
  const step = n <= 96 ? 1 : Math.floor(n / 64);
  for (let i = 0; i < n; i += step) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  for (let i = Math.max(0, n - 16); i < n; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return `${n}:${(h >>> 0).toString(36)}:`;
}

function micros(t0: number): number {
  return Math.round((performance.now() - t0) * 10000) / 10;
}

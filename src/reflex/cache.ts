/**
 * A bounded LRU cache with optional time-to-live. Generic (used for screening verdicts, reusable for
 * anything keyed by a string or number). No timers: expired entries are dropped when touched or when
 * they reach the cold end of the LRU order, so an idle cache holds memory but no event-loop handles.
 */

export interface LruCacheOptions {
  /** Entries kept at most; the least recently used is evicted first. */
  maxEntries: number;
  /** Entries older than this are treated as absent (default: never expire). */
  ttlMs?: number;
  /** Clock, for tests (default Date.now). */
  now?: () => number;
}

export interface LruCache<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  set(key: K, value: V): void;
  delete(key: K): boolean;
  clear(): void;
  readonly size: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export function createLruCache<K, V>(options: LruCacheOptions): LruCache<K, V> {
  const max = Math.floor(options.maxEntries);
  if (!(max >= 1)) throw new RangeError("maxEntries must be at least 1");
  const ttl = options.ttlMs ?? Infinity;
  if (!(ttl > 0)) throw new RangeError("ttlMs must be positive");
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: re-inserting on access keeps the coldest entry first.
  const map = new Map<K, Entry<V>>();

  const live = (key: K): Entry<V> | undefined => {
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };

  return {
    get(key) {
      const e = live(key);
      if (e === undefined) return undefined;
      map.delete(key);
      map.set(key, e);
      return e.value;
    },
    has: (key) => live(key) !== undefined,
    set(key, value) {
      map.delete(key);
      map.set(key, { value, expiresAt: ttl === Infinity ? Infinity : now() + ttl });
      while (map.size > max) map.delete(map.keys().next().value as K);
    },
    delete: (key) => map.delete(key),
    clear: () => map.clear(),
    get size() {
      return map.size;
    },
  };
}

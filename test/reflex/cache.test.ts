import { describe, expect, it } from "vitest";
import { createLruCache } from "../../src/reflex/cache.js";

describe("LRU cache", () => {
  it("evicts the least recently used entry", () => {
    const c = createLruCache<string, number>({ maxEntries: 2 });
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1); // a is now the most recent
    c.set("c", 3);
    expect(c.has("b")).toBe(false);
    expect(c.get("a")).toBe(1);
    expect(c.get("c")).toBe(3);
    expect(c.size).toBe(2);
  });

  it("expires entries after the TTL", () => {
    let t = 1000;
    const c = createLruCache<string, string>({ maxEntries: 10, ttlMs: 50, now: () => t });
    c.set("k", "v");
    t += 49;
    expect(c.get("k")).toBe("v");
    t += 1;
    expect(c.get("k")).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("overwrites, deletes and clears", () => {
    const c = createLruCache<number, string>({ maxEntries: 3 });
    c.set(1, "a");
    c.set(1, "b");
    expect(c.get(1)).toBe("b");
    expect(c.size).toBe(1);
    expect(c.delete(1)).toBe(true);
    c.set(2, "x");
    c.clear();
    expect(c.size).toBe(0);
  });

  it("rejects nonsensical options", () => {
    expect(() => createLruCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => createLruCache({ maxEntries: 1, ttlMs: 0 })).toThrow(RangeError);
  });
});

import { describe, expect, it } from "vitest";
import { LruCache } from "./lru-cache.ts";

describe("LruCache", () => {
  it("evicts the least recently used entry", () => {
    const cache = new LruCache<number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1);
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
    expect(cache.size).toBe(2);
  });

  it("replaces, deletes and clears", () => {
    const cache = new LruCache<string>(3);
    cache.set("a", "1");
    cache.set("a", "2");
    expect(cache.size).toBe(1);
    expect(cache.get("a")).toBe("2");
    cache.delete("a");
    expect(cache.get("a")).toBeUndefined();
    cache.set("b", "x");
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it("stores nothing with capacity 0 and refuses a capacity that is not a whole number", () => {
    const cache = new LruCache<number>(0);
    cache.set("a", 1);
    expect(cache.get("a")).toBeUndefined();
    expect(() => new LruCache<number>(-1)).toThrow(/whole number/);
    expect(() => new LruCache<number>(1.5)).toThrow(/whole number/);
  });
});

import { describe, expect, it } from "vitest";
import { BoundedCollection } from "./bounded-collection.ts";

interface Item {
  readonly id: string;
  readonly size: number;
}

function collectionOf(ids: string[], maxItems = 10, maxWeight?: number): BoundedCollection<Item> {
  const collection = new BoundedCollection<Item>({ maxItems, maxWeight, weigh: (item) => item.size });
  for (const id of ids) collection.add({ id, size: 10 });
  return collection;
}

describe("BoundedCollection", () => {
  it("evicts the oldest items beyond its count", () => {
    const collection = collectionOf(["a", "b", "c", "d"], 3);
    expect(collection.size).toBe(3);
    expect(collection.get("a")).toBeUndefined();
    expect(collection.get("d")).toBeDefined();
  });

  it("evicts the oldest items beyond its weight", () => {
    const collection = collectionOf(["a", "b", "c"], 10, 25);
    expect(collection.get("a")).toBeUndefined();
    expect(collection.get("b")).toBeDefined();
    collection.delete("b");
    collection.add({ id: "d", size: 10 });
    expect(collection.get("c")).toBeDefined();
  });

  it("pages newest first after a cursor", () => {
    const collection = collectionOf(["a", "b", "c", "d", "e"]);
    const first = collection.page({ limit: 2 });
    expect(first?.data.map((item) => item.id)).toEqual(["e", "d"]);
    expect(first?.hasMore).toBe(true);
    const last = collection.page({ limit: 2, after: "b" });
    expect(last?.data.map((item) => item.id)).toEqual(["a"]);
    expect(last?.hasMore).toBe(false);
  });

  it("pages oldest first when asked, with a filter", () => {
    const collection = collectionOf(["a", "b", "c", "d"]);
    const page = collection.page({ limit: 10, order: "asc", include: (item) => item.id !== "b" });
    expect(page?.data.map((item) => item.id)).toEqual(["a", "c", "d"]);
  });

  it("reports a cursor that names no item", () => {
    expect(collectionOf(["a"]).page({ limit: 1, after: "zzz" })).toBeUndefined();
  });

  it("updates an item in place, keeping its age", () => {
    const collection = collectionOf(["a", "b"], 2);
    collection.update({ id: "a", size: 99 });
    collection.add({ id: "c", size: 1 });
    expect(collection.get("a")).toBeUndefined();
    expect(collection.get("b")).toBeDefined();
  });
});

/**
 * The behaviour every budget store must have, run against each store (memory, Redis, Redis Cluster)
 * by their own test files. Time is passed in, never read from the clock, so windows, leases and the
 * sliding minute are tested exactly.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { BudgetStore, Counter, RateCounter, WindowAmounts, WindowCounter } from "./budget-store.ts";
import { windowAt } from "./windows.ts";

const t0 = Date.UTC(2026, 11, 4, 19, 0, 0);
const none = -1;

export function describeBudgetStore(name: string, open: () => Promise<BudgetStore>): void {
  describe(`budget store: ${name}`, () => {
    const unique = () => `b-${randomUUID().slice(0, 8)}`;
    const windowCounter = (budget: string, limits: WindowAmounts, amounts: WindowAmounts, now = t0, subject = "spiffe://ai.company.org/agent/a"): WindowCounter => {
      const span = windowAt("day", now);
      return { kind: "window", budget, subject, windowId: span.id, windowEnd: span.end, limits, amounts };
    };
    const rateCounter = (budget: string, rpm: number, tpm: number, tokens: number): RateCounter => ({
      kind: "rate",
      budget,
      subject: "*",
      limits: [rpm, tpm],
      amounts: [1, tokens],
    });
    const reserve = (store: BudgetStore, counters: Counter[], now = t0, leaseMs = 60_000, requestId = randomUUID()) =>
      store.reserve({ requestId, now, leaseMs, counters });

    it("reserves on every counter or on none", async () => {
      const store = await open();
      const a = unique();
      const b = unique();
      const first = windowCounter(a, [none, none, none, 1000, none], [0, 100, 200, 300, 1]);
      const tight = windowCounter(b, [none, none, none, 250, none], [0, 100, 200, 300, 1]);
      const result = await reserve(store, [first, tight]);
      expect(result).toMatchObject({ ok: false, shortfall: { budget: b, metric: "total_tokens", limit: 250, current: 0, requested: 300 } });
      const [snapA] = await store.snapshot([first], t0);
      expect(snapA?.reserved).toEqual([0, 0, 0, 0, 0]);
      const ok = await reserve(store, [first]);
      expect(ok.ok).toBe(true);
      if (ok.ok) expect(ok.states).toContainEqual(expect.objectContaining({ budget: a, metric: "total_tokens", limit: 1000, remaining: 700 }));
      await store.close();
    });

    it("settles to the reported usage, once per request id", async () => {
      const store = await open();
      const budget = unique();
      const counter = windowCounter(budget, [5_000_000, none, none, 1000, 10], [40_000, 100, 500, 600, 1]);
      const requestId = randomUUID();
      expect((await reserve(store, [counter], t0, 60_000, requestId)).ok).toBe(true);
      const settle = () => store.settle({ requestId, now: t0 + 1000, counters: [{ counter, actual: [12_345, 90, 120, 210, 1] }] });
      expect(await settle()).toBe(true);
      expect(await settle()).toBe(false);
      const [snap] = await store.snapshot([counter], t0 + 2000);
      expect(snap?.used).toEqual([12_345, 90, 120, 210, 1]);
      expect(snap?.reserved).toEqual([0, 0, 0, 0, 0]);
      await store.close();
    });

    it("drops a reservation whose lease expired, and still counts usage settled after it", async () => {
      const store = await open();
      const budget = unique();
      const counter = windowCounter(budget, [none, none, none, 1000, none], [0, 0, 0, 800, 1]);
      const requestId = randomUUID();
      expect((await reserve(store, [counter], t0, 30_000, requestId)).ok).toBe(true);
      expect((await reserve(store, [counter], t0 + 29_999)).ok).toBe(false);
      // The replica that reserved died: after its lease, the budget is free again.
      const [before] = await store.snapshot([counter], t0 + 30_001);
      expect(before?.reserved).toEqual([0, 0, 0, 0, 0]);
      expect((await reserve(store, [counter], t0 + 30_001, 30_000)).ok).toBe(true);
      // A late settlement of the expired reservation still counts what was used.
      expect(await store.settle({ requestId, now: t0 + 40_000, counters: [{ counter, actual: [0, 0, 0, 50, 1] }] })).toBe(true);
      const [after] = await store.snapshot([counter], t0 + 40_000);
      expect(after?.used).toEqual([0, 0, 0, 50, 1]);
      expect(after?.reserved).toEqual([0, 0, 0, 800, 1]);
      await store.close();
    });

    it("starts each calendar window afresh", async () => {
      const store = await open();
      const budget = unique();
      const today = windowCounter(budget, [none, none, none, none, 2], [0, 0, 0, 0, 1], t0);
      for (let i = 0; i < 2; i++) {
        const id = randomUUID();
        expect((await reserve(store, [today], t0, 60_000, id)).ok).toBe(true);
        await store.settle({ requestId: id, now: t0, counters: [{ counter: today, actual: [0, 0, 0, 0, 1] }] });
      }
      const refused = await reserve(store, [today], t0 + 1000);
      expect(refused).toMatchObject({ ok: false, shortfall: { metric: "requests", retryAt: Date.UTC(2026, 11, 5) } });
      const tomorrow = windowCounter(budget, [none, none, none, none, 2], [0, 0, 0, 0, 1], Date.UTC(2026, 11, 5, 0, 0, 1));
      expect((await reserve(store, [tomorrow], Date.UTC(2026, 11, 5, 0, 0, 1))).ok).toBe(true);
      await store.close();
    });

    it("limits requests and tokens per sliding minute", async () => {
      const store = await open();
      const budget = unique();
      const counter = rateCounter(budget, 3, 1_000_000, 10);
      for (let i = 0; i < 3; i++) expect((await reserve(store, [counter], t0 + i * 10_000)).ok).toBe(true);
      const refused = await reserve(store, [counter], t0 + 45_000);
      expect(refused).toMatchObject({ ok: false, shortfall: { metric: "requests_per_minute", limit: 3, current: 3, retryAt: t0 + 60_000 } });
      // The first request leaves the minute at t0 + 60 s.
      expect((await reserve(store, [counter], t0 + 60_000)).ok).toBe(true);
      expect((await reserve(store, [counter], t0 + 60_500)).ok).toBe(false);
      await store.close();
    });

    it("corrects tokens per minute to the reported usage", async () => {
      const store = await open();
      const budget = unique();
      const counter = rateCounter(budget, 1000, 1000, 600);
      const requestId = randomUUID();
      expect((await reserve(store, [counter], t0, 60_000, requestId)).ok).toBe(true);
      expect((await reserve(store, [counter], t0 + 1000)).ok).toBe(false);
      await store.settle({ requestId, now: t0 + 2000, counters: [{ counter, actual: [1, 150] }] });
      const [snap] = await store.snapshot([counter], t0 + 3000);
      expect(snap?.used).toEqual([1, 150]);
      expect((await reserve(store, [counter], t0 + 3000)).ok).toBe(true);
      await store.close();
    });

    it("never grants more than the limit to concurrent requests", async () => {
      const store = await open();
      const budget = unique();
      const counter = windowCounter(budget, [none, none, none, none, 50], [0, 0, 0, 0, 1]);
      const results = await Promise.all(Array.from({ length: 200 }, () => reserve(store, [counter])));
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      const [snap] = await store.snapshot([counter], t0);
      expect(snap?.reserved[4]).toBe(50);
      await store.close();
    });

    it("remembers who started a job, and lets exactly one caller claim it", async () => {
      const store = await open();
      const key = `batch:${unique()}`;
      expect(await store.claimJob(key)).toBeUndefined();
      await store.rememberJob(key, '{"caller":"a"}', 60_000);
      await store.rememberJob(key, '{"caller":"b"}', 60_000);
      const claims = await Promise.all([store.claimJob(key), store.claimJob(key), store.claimJob(key)]);
      expect(claims.filter((c) => c !== undefined)).toEqual(['{"caller":"a"}']);
      await store.close();
    });

    it("keeps run-time limit changes shared", async () => {
      const store = await open();
      const budget = unique();
      await store.setOverride(budget, '{"requests":5}');
      expect((await store.overrides())[budget]).toBe('{"requests":5}');
      await store.setOverride(budget, undefined);
      expect((await store.overrides())[budget]).toBeUndefined();
      await store.close();
    });
  });
}

import { describe, expect, it } from "vitest";
import { createLogger } from "../telemetry/logger.ts";
import { type BudgetStore, BudgetStoreUnavailableError, type ReserveRequest, type WindowCounter } from "./budget-store.ts";
import { MemoryBudgetStore } from "./memory-store.ts";
import { ResilientBudgetStore } from "./resilient-store.ts";

const logger = createLogger("silent", "test");
const counter: WindowCounter = { kind: "window", budget: "b", subject: "*", windowId: "2026-12-04", windowEnd: Date.UTC(2026, 11, 5), limits: [-1, -1, -1, -1, 10], amounts: [0, 0, 0, 0, 1] };
const request = (id: string): ReserveRequest => ({ requestId: id, now: Date.UTC(2026, 11, 4, 12), leaseMs: 600_000, counters: [counter] });

/** A store whose reservations take effect but whose answer is lost, like a Redis call that times out after running. */
function losingAnswers(inner: MemoryBudgetStore): BudgetStore {
  return Object.assign(Object.create(inner) as BudgetStore, {
    reserve: async (r: ReserveRequest) => {
      await inner.reserve(r);
      throw new BudgetStoreUnavailableError("timed out");
    },
  });
}

describe("the shared store failing", () => {
  it("fails closed, and releases a reservation whose answer was lost", async () => {
    const inner = new MemoryBudgetStore();
    const store = new ResilientBudgetStore(losingAnswers(inner), "fail_closed", logger);
    await expect(store.reserve(request("r1"))).rejects.toBeInstanceOf(BudgetStoreUnavailableError);
    await store.close();
    const [snapshot] = await inner.snapshot([counter], Date.UTC(2026, 11, 4, 12));
    expect(snapshot?.reserved).toEqual([0, 0, 0, 0, 0]);
    expect(snapshot?.used).toEqual([0, 0, 0, 0, 0]);
  });

  it("fails open onto a per-replica store with the same limits", async () => {
    const inner = new MemoryBudgetStore();
    const store = new ResilientBudgetStore(losingAnswers(inner), "fail_open", logger);
    const { result, store: used } = await store.reserve(request("r2"));
    expect(result.ok).toBe(true);
    expect(used).not.toBe(store.shared);
    expect(store.available).toBe(false);
    await store.close();
  });
});

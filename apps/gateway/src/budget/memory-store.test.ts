import { describeBudgetStore } from "./budget-store.suite.ts";
import { MemoryBudgetStore } from "./memory-store.ts";

const shared = new MemoryBudgetStore();
describeBudgetStore("memory", async () => Object.assign(Object.create(shared) as MemoryBudgetStore, { close: async () => {} }));

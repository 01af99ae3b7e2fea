import { describeBudgetStore } from "./budget-store.suite.ts";
import { RedisBudgetStore } from "./redis-store.ts";

// The machine's Redis (started before the tests and CI); every test uses its own budget names.
describeBudgetStore("redis", async () => {
  const store = new RedisBudgetStore({ url: "redis://127.0.0.1:6379", keyPrefix: "tollgate-test", timeoutMs: 2000 });
  await store.ready();
  return store;
});

import { afterAll, beforeAll } from "vitest";
import { type RedisCluster, startRedisCluster } from "../../test/harness/redis-servers.ts";
import { describeBudgetStore } from "./budget-store.suite.ts";
import { RedisBudgetStore } from "./redis-store.ts";

// A Redis Cluster of three masters on loopback ports: the same scripts, unchanged, because every key
// of a request carries the same {hash tag}.
let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(() => cluster.close());

describeBudgetStore("redis cluster", async () => {
  const store = new RedisBudgetStore({ cluster: cluster.nodes, keyPrefix: "tollgate-test", timeoutMs: 2000 });
  await store.ready();
  return store;
});

import type { Config } from "../config/schema.ts";
import type { Logger } from "../telemetry/logger.ts";
import { BudgetLimitsRegistry } from "./budget-limits-registry.ts";
import type { BudgetStageOptions } from "./budget-stage.ts";
import type { BudgetStore } from "./budget-store.ts";
import { defaultPrices } from "./default-prices.ts";
import { MemoryBudgetStore } from "./memory-store.ts";
import { PriceList } from "./pricing.ts";
import { RedisBudgetStore } from "./redis-store.ts";
import { ResilientBudgetStore } from "./resilient-store.ts";
import { TokenCounter } from "./token-counter.ts";

export interface Budgets {
  stage: BudgetStageOptions;
  registry: BudgetLimitsRegistry;
  store: ResilientBudgetStore;
  /** Applies a reloaded configuration's budgets and prices (the store's own settings need a restart). */
  reconfigure(config: Config): void;
  close(): Promise<void>;
}

/** The budget stage's parts, from the configuration: the store, the budgets in force, prices, tokens. */
export async function createBudgets(config: Config, logger: Logger, now?: () => number): Promise<Budgets> {
  const section = config.budgets;
  const shared: BudgetStore =
    section.store.kind === "redis"
      ? new RedisBudgetStore({
          url: section.store.url,
          ...(section.store.cluster === undefined ? {} : { cluster: section.store.cluster }),
          keyPrefix: section.store.key_prefix,
          timeoutMs: section.store.timeout,
        })
      : new MemoryBudgetStore();
  if (shared instanceof RedisBudgetStore) {
    // Waits briefly for the first connection; an unreachable Redis is handled per request (fail closed or open).
    await shared.ready(Math.max(2000, section.store.kind === "redis" ? section.store.timeout * 4 : 0)).catch((error: Error) => {
      logger.error({ err: error.message }, "the budget store is not reachable at start");
    });
  }
  const store = new ResilientBudgetStore(shared, section.on_store_failure, logger);
  const registry = new BudgetLimitsRegistry(section.limits, shared, logger);
  await registry.start();
  let prices = new PriceList(defaultPrices, config.pricing);
  const tokens = new TokenCounter();
  return {
    stage: {
      settings: section,
      registry,
      store,
      prices: () => prices,
      tokens,
      logger,
      ...(now === undefined ? {} : { now }),
    },
    registry,
    store,
    reconfigure(next) {
      registry.setConfigured(next.budgets.limits);
      prices = new PriceList(defaultPrices, next.pricing);
    },
    async close() {
      registry.stop();
      await tokens.close();
      await store.close();
    },
  };
}

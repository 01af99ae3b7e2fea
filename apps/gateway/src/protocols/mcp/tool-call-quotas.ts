import type { BudgetStore, ReserveRequest, ReserveResult, SettleRequest, WindowCounter } from "../../budget/budget-store.ts";
import { BudgetStoreUnavailableError } from "../../budget/budget-store.ts";
import { compileNamePattern } from "../../budget/name-pattern.ts";
import { windowAt } from "../../budget/windows.ts";
import type { McpQuotaConfig } from "../../config/mcp-schema.ts";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Exchange } from "../../gate/exchange.ts";

/** What quotas need of the budget store (the ResilientBudgetStore: Redis, or memory, with its failure mode). */
export interface QuotaStore {
  reserve(request: ReserveRequest): Promise<{ result: ReserveResult; store: BudgetStore }>;
  settle(store: BudgetStore, request: SettleRequest): Promise<boolean>;
}

interface CompiledQuota {
  config: McpQuotaConfig;
  budget: string;
  matches: (tool: string) => boolean;
}

const noLimit = -1;

/**
 * Per-tool call quotas of one MCP server: calls per calendar window, per agent or shared, counted in
 * the budget store as window counters of requests (so every replica sharing a Redis store counts
 * together, and the budget store's atomic all-or-nothing reservation makes two quotas that match one
 * call either both count it or neither). A call counts when it is forwarded, whatever the server
 * then answers: the quota limits what reaches the server.
 */
export class ToolCallQuotas {
  readonly #server: string;
  readonly #quotas: readonly CompiledQuota[];
  readonly #store: QuotaStore | undefined;
  readonly #now: () => number;
  readonly #leaseMs: number;

  constructor(options: { server: string; quotas: readonly McpQuotaConfig[]; store: QuotaStore | undefined; now: () => number; leaseMs: number }) {
    this.#server = options.server;
    this.#quotas = options.quotas.map((config) => {
      const patterns = config.tools.map(compileNamePattern);
      return { config, budget: `mcp.${options.server}.${config.name}`, matches: (tool: string) => patterns.some((matches) => matches(tool)) };
    });
    this.#store = options.store;
    this.#now = options.now;
    this.#leaseMs = options.leaseMs;
  }

  get empty(): boolean {
    return this.#quotas.length === 0;
  }

  /** Counts one call of `tool`; throws 429 when a quota is used up, 503 when the store cannot be reached (fail closed). */
  async charge(exchange: Exchange, tool: string): Promise<void> {
    const matching = this.#quotas.filter((quota) => quota.matches(tool));
    if (matching.length === 0 || this.#store === undefined) return;
    const caller = exchange.caller?.id.uri ?? "";
    const now = this.#now();
    const counters: WindowCounter[] = matching.map((quota) => {
      const window = windowAt(quota.config.window, now);
      return {
        kind: "window",
        budget: quota.budget,
        subject: quota.config.split === "shared" ? "*" : caller,
        windowId: window.id,
        windowEnd: window.end,
        limits: [noLimit, noLimit, noLimit, noLimit, quota.config.calls],
        amounts: [0, 0, 0, 0, 1],
      };
    });
    let reserved: Awaited<ReturnType<QuotaStore["reserve"]>>;
    try {
      reserved = await this.#store.reserve({ requestId: `${exchange.id}:quota`, now, leaseMs: this.#leaseMs, counters });
    } catch (error) {
      if (!(error instanceof BudgetStoreUnavailableError)) throw error;
      throw new TollgateError("TG_ERR_UNAVAILABLE", "The gateway cannot count this call against its quota now: the budget store is unreachable.", {
        reason: "budget.store_unavailable",
        headers: { "retry-after": "1" },
        cause: error,
      });
    }
    if (!reserved.result.ok) {
      const { shortfall } = reserved.result;
      const quota = matching.find((q) => q.budget === shortfall.budget);
      const seconds = Math.max(1, Math.ceil((shortfall.retryAt - now) / 1000));
      const per = quota === undefined ? "" : ` per ${quota.config.window}${quota.config.split === "shared" ? " for all callers" : ""}`;
      throw new TollgateError(
        "TG_ERR_BUDGET_EXCEEDED",
        `Quota "${quota?.config.name ?? shortfall.budget}" of MCP server "${this.#server}" is used up: ${shortfall.limit} calls${per}. It frees up by ${new Date(shortfall.retryAt).toISOString()}.`,
        { reason: "mcp.quota_exceeded", headers: { "retry-after": String(seconds) } },
      );
    }
    // Settled at once: the call counts now, so the reservation's lease must not lapse and give it back.
    await this.#store.settle(reserved.store, {
      requestId: `${exchange.id}:quota`,
      now,
      counters: counters.map((counter) => ({ counter, actual: counter.amounts })),
    });
  }
}

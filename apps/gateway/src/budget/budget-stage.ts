import type { FastifyPluginCallback } from "fastify";
import fp from "fastify-plugin";
import type { BudgetsSection } from "../config/budgets-schema.ts";
import { TollgateError } from "../errors/tollgate-error.ts";
import type { Exchange, TokenUsage } from "../gate/exchange.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { BudgetAdmin } from "./budget-admin.ts";
import { type BudgetAmountsOf, BudgetBook, windowAmounts } from "./budget-book.ts";
import type { BudgetHold } from "./budget-hold.ts";
import { BudgetLimitsRegistry } from "./budget-limits-registry.ts";
import { type BudgetStore, BudgetStoreUnavailableError, type Counter, type Shortfall } from "./budget-store.ts";
import { costOf, type PriceList } from "./pricing.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";
import type { ResilientBudgetStore } from "./resilient-store.ts";
import { SettlementQueue } from "./settlement-queue.ts";
import type { PromptParts, TokenCounter } from "./token-counter.ts";

/** What a protocol module asks the budget stage to reserve for a request, before forwarding it. */
export interface BudgetRequestSpec {
  /** The model named by the request (undefined for account-level operations without one). */
  model: string | undefined;
  /** The provider, where known before routing. */
  provider?: string | undefined;
  /** What the model will read (undefined when the request carries no tokens). */
  prompt?: PromptParts | undefined;
  /** The request's own output cap (after the policy's cap); undefined: the configured default. */
  maxOutputTokens?: number | undefined;
  /** Whether the request produces output tokens at all (embeddings and account operations do not). */
  producesOutput: boolean;
  /** Budgets the policy's decision named (obligations.budgets). */
  obligations?: readonly string[] | undefined;
}

export interface BudgetGate {
  /**
   * Reserves the request's worst case on every budget that applies, in one atomic step, and records
   * the hold on the exchange. Throws 429 (TG_ERR_BUDGET_EXCEEDED, naming the budget, with Retry-After)
   * when a budget is short, 503 when the budget store is unreachable in fail-closed mode.
   */
  reserve(exchange: Exchange, spec: BudgetRequestSpec): Promise<BudgetHold>;
  /** OpenAI-style x-ratelimit-* headers for a held request. */
  headers(hold: BudgetHold): Record<string, string>;
  /**
   * Remembers who started a batch or fine-tuning job, and with which model and obligations, so its
   * tokens are charged to that caller's budgets when the job ends (their tokens are in no request).
   */
  rememberJob(exchange: Exchange, job: { kind: string; id: string }, spec: Pick<BudgetRequestSpec, "model" | "provider" | "obligations">): void;
  /** Charges an ended job's tokens to its starter's budgets, once, whichever replica sees it end first. */
  chargeJob(job: { kind: string; id: string; usage?: TokenUsage | undefined }): void;
  /** The prompt's tokens as reserved, or counted now if no budget needed them before forwarding. */
  inputTokens(hold: BudgetHold): number;
  /** The output a request may produce before a hard stop cuts it off (undefined: no hard stop). */
  hardStopAt(hold: BudgetHold): number | undefined;
  readonly tokens: TokenCounter;
  readonly admin: BudgetAdmin;
}

declare module "fastify" {
  interface FastifyInstance {
    budgets: BudgetGate;
  }
}

export interface BudgetStageOptions {
  settings: Pick<BudgetsSection, "lease" | "default_max_output_tokens" | "hard_stop">;
  registry: BudgetLimitsRegistry;
  store: ResilientBudgetStore;
  prices: () => PriceList;
  tokens: TokenCounter;
  logger: Logger;
  now?: () => number;
}

/**
 * Stage 3, "can they afford it?": budgets and rate limits, reserved before a request is forwarded and
 * settled to its reported usage when it finishes, exactly once, on every exit path (the exchange's
 * finisher), with the request's cost in integer micro-dollars computed at the price in force when it
 * was made.
 */
const budgetStage: FastifyPluginCallback<BudgetStageOptions> = (fastify, options, done) => {
  const { settings, registry, store, tokens, logger } = options;
  const now = options.now ?? Date.now;
  const settlements = new SettlementQueue(logger);

  const reserve = async (exchange: Exchange, spec: BudgetRequestSpec): Promise<BudgetHold> => {
    const caller = exchange.caller?.id.uri ?? "";
    const price = spec.model === undefined ? undefined : options.prices().get(spec.model);
    const outputTokens = spec.producesOutput ? (spec.maxOutputTokens ?? settings.default_max_output_tokens) : 0;
    const book: BudgetBook = registry.book();
    const budgets = book.matching({ caller, model: spec.model, provider: spec.provider, obligations: spec.obligations ?? [] });
    const hold: BudgetHold = {
      requestId: exchange.id,
      store: undefined,
      counters: [],
      price,
      model: spec.model,
      estimate: { inputTokens: undefined, outputTokens },
      prompt: spec.prompt,
      states: [],
    };
    exchange.budget = hold;
    // No budget applies: nothing to reserve, so the prompt is not counted on the request's path.
    if (budgets.length === 0) return hold;
    const inputTokens = spec.prompt === undefined || spec.model === undefined ? 0 : await tokens.countPrompt(spec.prompt, spec.model);
    hold.estimate.inputTokens = inputTokens;

    if (price === undefined && budgets.some((b) => b.limits.costMicroUsd !== undefined)) {
      const named = budgets.find((b) => b.limits.costMicroUsd !== undefined)?.name;
      throw new TollgateError(
        "TG_ERR_UNPRICED_MODEL",
        `The model "${spec.model ?? ""}" has no price, so the USD budget "${named}" cannot be enforced; an operator must add it under pricing.`,
        { reason: "budget.unpriced_model" },
      );
    }
    const worst: BudgetAmountsOf = {
      costMicroUsd: price === undefined ? 0 : costOf({ input: inputTokens, output: outputTokens }, price).microUsd,
      inputTokens,
      outputTokens,
      requests: 1,
    };
    const at = now();
    const counters = book.counters(budgets, caller, worst, at);
    let reserved;
    try {
      reserved = await store.reserve({ requestId: exchange.id, now: at, leaseMs: settings.lease, counters });
    } catch (error) {
      if (!(error instanceof BudgetStoreUnavailableError)) throw error;
      throw new TollgateError("TG_ERR_UNAVAILABLE", "Budgets cannot be checked right now (the budget store is unreachable); retry shortly.", {
        reason: "budget.store_unavailable",
        headers: { "retry-after": "1" },
        cause: error,
      });
    }
    if (!reserved.result.ok) throw shortfallError(reserved.result.shortfall, at);
    for (const budget of budgets) if (budget.split === "per_agent") registry.noteSubject(budget.name, caller);
    hold.store = reserved.store;
    hold.counters = counters;
    hold.states = reserved.result.states;
    // The caller left while the reservation was being made: the exchange has finished (and settled
    // nothing), so give the reservation back now rather than hold it until its lease ends.
    if (exchange.isFinished) settle(exchange);
    return hold;
  };

  const settle = (exchange: Exchange): void => {
    const hold = exchange.budget;
    if (hold === undefined) return;
    // The provider's report; else what the protocol module counted (a stream that ended early); else
    // nothing was generated (the request failed before an answer).
    if (exchange.usage === undefined && exchange.usageFallback !== undefined) exchange.usage = exchange.usageFallback();
    const usage: TokenUsage = exchange.usage ?? { input: 0, output: 0 };
    if (hold.price !== undefined && exchange.usage !== undefined) exchange.cost = costOf(usage, hold.price);
    if (hold.store === undefined || hold.counters.length === 0) return;
    const actual: BudgetAmountsOf = { costMicroUsd: exchange.cost?.microUsd ?? 0, inputTokens: usage.input, outputTokens: usage.output, requests: 1 };
    const counters = hold.counters.map((counter: Counter) => ({
      counter,
      actual: counter.kind === "window" ? windowAmounts(actual) : ([1, actual.inputTokens + actual.outputTokens] as const),
    }));
    settlements.add(() => store.settle(hold.store as BudgetStore, { requestId: hold.requestId, now: now(), counters }));
  };

  const rememberJob: BudgetGate["rememberJob"] = (exchange, job, spec) => {
    const caller = exchange.caller?.id.uri;
    if (caller === undefined) return;
    const record = JSON.stringify({ caller, model: spec.model, provider: spec.provider, obligations: spec.obligations ?? [] });
    settlements.add(async () => {
      await store.shared.rememberJob(`${job.kind}:${job.id}`, record, jobMemoryMs);
      return true;
    });
  };

  const chargeJob: BudgetGate["chargeJob"] = (job) => {
    const usage = job.usage;
    if (usage === undefined) return;
    settlements.add(async () => {
      const claimed = await store.shared.claimJob(`${job.kind}:${job.id}`);
      if (claimed === undefined) return false;
      const owner = JSON.parse(claimed) as { caller: string; model?: string; provider?: string; obligations: string[] };
      const book = registry.book();
      const budgets = book.matching({ caller: owner.caller, model: owner.model, provider: owner.provider, obligations: owner.obligations });
      const actual: BudgetAmountsOf = { costMicroUsd: 0, inputTokens: usage.input, outputTokens: usage.output, requests: 0 };
      // Tokens a job consumed over hours are not a per-minute rate: they count on calendar windows only.
      const counters = book.counters(budgets, owner.caller, actual, now()).filter((c) => c.kind === "window");
      if (counters.length === 0) return false;
      logger.info({ job: job.id, kind: job.kind, caller: owner.caller, usage }, "charged an ended job's tokens to its starter's budgets");
      return store.settle(store.shared, {
        requestId: `job:${job.kind}:${job.id}`,
        now: now(),
        counters: counters.map((counter) => ({ counter, actual: windowAmounts(actual) })),
      });
    });
  };

  const inputTokens = (hold: BudgetHold): number => {
    hold.estimate.inputTokens ??= hold.prompt === undefined || hold.model === undefined ? 0 : tokens.countPromptNow(hold.prompt, hold.model);
    return hold.estimate.inputTokens;
  };

  fastify.decorate("budgets", {
    reserve,
    inputTokens,
    rememberJob,
    chargeJob,
    headers: (hold: BudgetHold) => rateLimitHeaders(hold.states, now()),
    hardStopAt: (hold: BudgetHold) => (settings.hard_stop && hold.counters.length > 0 ? hold.estimate.outputTokens : undefined),
    tokens,
    admin: registry.admin(store, now),
  } satisfies BudgetGate);
  fastify.onExchangeFinished(settle, "settle");
  fastify.addHook("onClose", async () => {
    await settlements.drain();
  });
  done();
};

/** How long the starter of a job is remembered (batches end within days; fine-tuning jobs, weeks). */
const jobMemoryMs = 60 * 24 * 3600_000;

function shortfallError(shortfall: Shortfall, now: number): TollgateError {
  const retryAfterSeconds = Math.max(1, Math.ceil((shortfall.retryAt - now) / 1000));
  const whose = shortfall.subject === "*" ? "" : ` for ${shortfall.subject}`;
  const amount = (n: number) => (shortfall.metric === "cost" ? `$${(n / 1_000_000).toFixed(6).replace(/0{1,4}$/, "")}` : n.toLocaleString("en-US"));
  const never = shortfall.requested > shortfall.limit ? " This request alone is larger than the limit." : "";
  return new TollgateError(
    "TG_ERR_BUDGET_EXCEEDED",
    `Budget "${shortfall.budget}"${whose} is exhausted: ${shortfall.metric} ${amount(shortfall.current)} of ${amount(shortfall.limit)} used, ` +
      `and this request needs up to ${amount(shortfall.requested)} more. It frees up by ${new Date(shortfall.retryAt).toISOString()}.${never}`,
    {
      reason: `budget.exceeded`,
      headers: {
        "retry-after": String(retryAfterSeconds),
        ...rateLimitHeaders(
          [{ budget: shortfall.budget, subject: shortfall.subject, metric: shortfall.metric, limit: shortfall.limit, remaining: Math.max(0, shortfall.limit - shortfall.current), resetAt: shortfall.retryAt }],
          now,
        ),
      },
    },
  );
}

export default fp(budgetStage, { name: "tollgate-budget", dependencies: ["tollgate-exchange"], fastify: "5.x" });

import type { BudgetConfig } from "../config/budgets-schema.ts";
import { compileSpiffeIdPattern } from "../identity/spiffe-id.ts";
import type { BudgetDefinition, BudgetLimitValues } from "./budget-admin.ts";
import type { Counter, WindowAmounts } from "./budget-store.ts";
import { compileNamePattern } from "./name-pattern.ts";
import { windowAt } from "./windows.ts";

/** What a request asks of its budgets: its worst case before it is forwarded, its usage after. */
export interface BudgetAmountsOf {
  costMicroUsd: number;
  inputTokens: number;
  outputTokens: number;
  requests: number;
}

export interface BudgetQuery {
  caller: string;
  model: string | undefined;
  provider: string | undefined;
  /** Budget names the policy's decision named (obligations.budgets). */
  obligations: readonly string[];
}

interface CompiledBudget {
  definition: BudgetDefinition;
  agents: ((id: string) => boolean) | undefined;
  models: ((name: string) => boolean) | undefined;
  providers: ReadonlySet<string> | undefined;
}

const none = -1;

/**
 * The configured budgets, compiled once: which budgets a request falls under, and the counters it
 * must reserve on. Limits changed at run time (the admin API) replace a budget's configured limits.
 */
export class BudgetBook {
  private readonly budgets: CompiledBudget[];
  private readonly byName: Map<string, CompiledBudget>;

  constructor(configured: readonly BudgetConfig[], overrides: Readonly<Record<string, BudgetLimitValues>> = {}) {
    this.budgets = configured.map((budget) => {
      const configuredLimits = limitsOf(budget);
      const override = overrides[budget.name];
      const definition: BudgetDefinition = {
        name: budget.name,
        match: {
          ...(budget.match.agents === undefined ? {} : { agents: budget.match.agents }),
          ...(budget.match.models === undefined ? {} : { models: budget.match.models }),
          ...(budget.match.providers === undefined ? {} : { providers: budget.match.providers }),
        },
        split: budget.split,
        onObligation: budget.on_obligation,
        window: budget.window,
        limits: override ?? configuredLimits,
        source: override === undefined ? "config" : "runtime",
      };
      const agents = budget.match.agents?.map((pattern) => compileSpiffeIdPattern(pattern));
      const models = budget.match.models?.map(compileNamePattern);
      return {
        definition,
        agents: agents === undefined ? undefined : (id: string) => agents.some((p) => p.matches(id)),
        models: models === undefined ? undefined : (name: string) => models.some((m) => m(name)),
        providers: budget.match.providers === undefined ? undefined : new Set(budget.match.providers),
      };
    });
    this.byName = new Map(this.budgets.map((b) => [b.definition.name, b]));
  }

  get isEmpty(): boolean {
    return this.budgets.length === 0;
  }

  definitions(): BudgetDefinition[] {
    return this.budgets.map((b) => b.definition);
  }

  definition(name: string): BudgetDefinition | undefined {
    return this.byName.get(name)?.definition;
  }

  /** The budgets a request falls under. */
  matching(query: BudgetQuery): BudgetDefinition[] {
    const out: BudgetDefinition[] = [];
    for (const budget of this.budgets) {
      const { definition } = budget;
      if (definition.onObligation && !query.obligations.includes(definition.name)) continue;
      if (budget.agents !== undefined && !budget.agents(query.caller)) continue;
      if (budget.models !== undefined && (query.model === undefined || !budget.models(query.model))) continue;
      if (budget.providers !== undefined && (query.provider === undefined || !budget.providers.has(query.provider))) continue;
      out.push(definition);
    }
    return out;
  }

  /** The counters of a request's budgets at `now`, each carrying the request's amounts. */
  counters(budgets: readonly BudgetDefinition[], caller: string, amounts: BudgetAmountsOf, now: number): Counter[] {
    const counters: Counter[] = [];
    for (const budget of budgets) {
      const subject = budget.split === "per_agent" ? caller : "*";
      const { limits } = budget;
      if (budget.window !== undefined && hasWindowLimits(limits)) {
        const span = windowAt(budget.window, now);
        counters.push({
          kind: "window",
          budget: budget.name,
          subject,
          windowId: span.id,
          windowEnd: span.end,
          limits: [
            limits.costMicroUsd ?? none,
            limits.inputTokens ?? none,
            limits.outputTokens ?? none,
            limits.totalTokens ?? none,
            limits.requests ?? none,
          ],
          amounts: windowAmounts(amounts),
        });
      }
      if (limits.requestsPerMinute !== undefined || limits.tokensPerMinute !== undefined) {
        counters.push({
          kind: "rate",
          budget: budget.name,
          subject,
          limits: [limits.requestsPerMinute ?? none, limits.tokensPerMinute ?? none],
          amounts: [amounts.requests, amounts.inputTokens + amounts.outputTokens],
        });
      }
    }
    return counters;
  }
}

export function windowAmounts(amounts: BudgetAmountsOf): WindowAmounts {
  return [amounts.costMicroUsd, amounts.inputTokens, amounts.outputTokens, amounts.inputTokens + amounts.outputTokens, amounts.requests];
}

function hasWindowLimits(limits: BudgetLimitValues): boolean {
  return [limits.costMicroUsd, limits.inputTokens, limits.outputTokens, limits.totalTokens, limits.requests].some((v) => v !== undefined);
}

/** A configured budget's limits in the admin interface's terms. */
export function limitsOf(budget: BudgetConfig): BudgetLimitValues {
  const out: BudgetLimitValues = {};
  if (budget.limits?.cost_usd !== undefined) out.costMicroUsd = budget.limits.cost_usd;
  if (budget.limits?.input_tokens !== undefined) out.inputTokens = budget.limits.input_tokens;
  if (budget.limits?.output_tokens !== undefined) out.outputTokens = budget.limits.output_tokens;
  if (budget.limits?.total_tokens !== undefined) out.totalTokens = budget.limits.total_tokens;
  if (budget.limits?.requests !== undefined) out.requests = budget.limits.requests;
  if (budget.rate?.requests_per_minute !== undefined) out.requestsPerMinute = budget.rate.requests_per_minute;
  if (budget.rate?.tokens_per_minute !== undefined) out.tokensPerMinute = budget.rate.tokens_per_minute;
  return out;
}

import type { BudgetStore, Counter, CounterState } from "./budget-store.ts";
import type { PricedModel } from "./pricing.ts";
import type { PromptParts } from "./token-counter.ts";

/** A request's standing with its budgets, from its reservation until it is settled. */
export interface BudgetHold {
  requestId: string;
  /** The store that holds the reservation (the shared one, or the local one in fail-open mode). */
  store: BudgetStore | undefined;
  /** The counters reserved on (none when no budget applies). */
  counters: Counter[];
  /** The price in force when the request was made; its cost is computed with it. */
  price: PricedModel | undefined;
  /** The model the request named, for counting tokens the provider did not report. */
  model: string | undefined;
  /**
   * What was reserved: the prompt as counted (undefined when no budget applied, so counting was
   * not needed before forwarding), and the output allowed.
   */
  estimate: { inputTokens: number | undefined; outputTokens: number };
  /** What the model reads, for counting the prompt later if it was not counted before forwarding. */
  prompt: PromptParts | undefined;
  /** Where the counters stood after the reservation (for rate-limit headers). */
  states: CounterState[];
}

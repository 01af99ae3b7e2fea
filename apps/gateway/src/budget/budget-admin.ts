import type { BudgetWindow } from "../config/budgets-schema.ts";

/** The amounts a budget counts, in one window. Money is integer micro-dollars. */
export interface BudgetAmounts {
  costMicroUsd: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  requests: number;
}

/** The limits of a budget as operators set them (any subset); money in integer micro-dollars. */
export interface BudgetLimitValues {
  costMicroUsd?: number;
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  requests?: number;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

/** One counter of a budget: the budget itself when shared, or one agent's share of a per-agent budget. */
export interface BudgetCounterStatus {
  budget: string;
  /** The SPIFFE ID the counter belongs to, or "*" for a shared budget. */
  subject: string;
  window: BudgetWindow | "sliding-minute";
  /** Start of the current window (ISO 8601, UTC). */
  windowStart: string;
  /** When the window resets (ISO 8601, UTC). */
  resetsAt: string;
  limits: BudgetLimitValues;
  /** Settled usage. */
  used: BudgetAmounts;
  /** Held by requests in flight (leases not yet settled or expired). */
  reserved: BudgetAmounts;
}

export interface BudgetDefinition {
  name: string;
  match: { agents?: string[]; models?: string[]; providers?: string[] };
  split: "per_agent" | "shared";
  onObligation: boolean;
  window: BudgetWindow | undefined;
  limits: BudgetLimitValues;
  /** Where the limits come from: the configuration, or a change made at run time through the admin API. */
  source: "config" | "runtime";
}

/**
 * What the admin API needs of the budget stage: read budgets and their counters, change limits at
 * run time (stored with the counters, so every replica sees the change at once).
 */
export interface BudgetAdmin {
  definitions(): Promise<BudgetDefinition[]>;
  /** Counters of the current windows; `subject` narrows to one SPIFFE ID. */
  status(options?: { budget?: string; subject?: string }): Promise<BudgetCounterStatus[]>;
  /** Replaces a budget's limits at run time; throws when no budget has that name. */
  setLimits(budget: string, limits: BudgetLimitValues): Promise<BudgetDefinition>;
  /** Drops a run-time change: the configured limits apply again. */
  resetLimits(budget: string): Promise<BudgetDefinition>;
}

/**
 * The contract of a budget store: where budget counters live (in memory, or in Redis shared by every
 * replica). Both implementations pass one shared test suite (budget-store.suite.ts).
 *
 * A request's budgets are counters. A reservation adds the request's worst case to every counter at
 * once, or to none (all or nothing), and is a lease: if it is not settled before it expires, it is
 * dropped (a replica that died mid-request does not lock budget away). Settling replaces the
 * reservation with the usage that was reported; it is idempotent per request id.
 */

/** Metrics of a calendar-window counter, in this order: µ$, input, output, total tokens, requests. */
export type WindowAmounts = readonly [cost: number, input: number, output: number, total: number, requests: number];
/** Metrics of a sliding-minute counter: requests, tokens. */
export type RateAmounts = readonly [requests: number, tokens: number];

export const windowMetrics = ["cost", "input_tokens", "output_tokens", "total_tokens", "requests"] as const;
export const rateMetrics = ["requests_per_minute", "tokens_per_minute"] as const;
export type BudgetMetric = (typeof windowMetrics)[number] | (typeof rateMetrics)[number];

/** A limit of -1 means "no limit on this metric". */
export type WindowCounter = {
  kind: "window";
  /** The budget's name. */
  budget: string;
  /** The SPIFFE ID a per-agent counter belongs to, or "*". */
  subject: string;
  /** e.g. `2026-12` */
  windowId: string;
  /** Epoch ms when the window resets. */
  windowEnd: number;
  limits: WindowAmounts;
  amounts: WindowAmounts;
};

export type RateCounter = {
  kind: "rate";
  budget: string;
  subject: string;
  limits: RateAmounts;
  amounts: RateAmounts;
};

export type Counter = WindowCounter | RateCounter;

/** What stands in the way of a reservation: the first counter and metric that would overflow. */
export interface Shortfall {
  budget: string;
  subject: string;
  metric: BudgetMetric;
  limit: number;
  /** Used plus reserved, before this request. */
  current: number;
  /** This request's amount of the metric. */
  requested: number;
  /** When enough may be free again (window end, or when the oldest usage leaves the sliding minute). */
  retryAt: number;
}

/** After a successful reservation: where each counter stands, for rate-limit headers and reports. */
export interface CounterState {
  budget: string;
  subject: string;
  metric: BudgetMetric;
  limit: number;
  /** Limit minus used and reserved, this request included. */
  remaining: number;
  resetAt: number;
}

export type ReserveResult = { ok: true; states: CounterState[] } | { ok: false; shortfall: Shortfall };

export interface ReserveRequest {
  requestId: string;
  now: number;
  leaseMs: number;
  counters: readonly Counter[];
}

/** The actual usage to settle, per counter of the reservation (same order). */
export interface SettleRequest {
  requestId: string;
  now: number;
  counters: ReadonlyArray<{ counter: Counter; actual: WindowAmounts | RateAmounts }>;
}

/** A counter's totals, for reports and the admin API. */
export interface CounterSnapshot {
  budget: string;
  subject: string;
  kind: "window" | "rate";
  windowId: string;
  used: number[];
  reserved: number[];
}

export interface BudgetStore {
  readonly kind: "memory" | "redis";
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /** Returns false when this request id was already settled (nothing changed). */
  settle(request: SettleRequest): Promise<boolean>;
  /** The current totals of the given counters (reservations past their lease are not counted). */
  snapshot(counters: readonly Counter[], now: number): Promise<CounterSnapshot[]>;
  /**
   * Remembers who started a job (a batch, a fine-tuning job) whose tokens are known only when it ends,
   * so that they can be charged then, by whichever replica sees it end.
   */
  rememberJob(key: string, record: string, ttlMs: number): Promise<void>;
  /** The record of a job, the first time it is claimed; undefined when unknown or already claimed. */
  claimJob(key: string): Promise<string | undefined>;
  /** Limits changed at run time, by budget name (shared by every replica using the same store). */
  overrides(): Promise<Record<string, string>>;
  setOverride(budget: string, value: string | undefined): Promise<void>;
  close(): Promise<void>;
}

/** The error a store throws when it cannot be reached. */
export class BudgetStoreUnavailableError extends Error {
  override readonly name = "BudgetStoreUnavailableError";
}

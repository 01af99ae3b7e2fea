import type { BudgetMetric, CounterState } from "./budget-store.ts";

const requestMetrics: ReadonlySet<BudgetMetric> = new Set(["requests", "requests_per_minute"]);
const tokenMetrics: ReadonlySet<BudgetMetric> = new Set(["total_tokens", "tokens_per_minute", "input_tokens", "output_tokens"]);

/**
 * OpenAI-style rate-limit headers from where a request's budgets stand: for requests and for tokens,
 * the tightest applicable limit (the one with the least remaining), its remaining amount and when it
 * resets (`6m0s`, `1s`, `250ms`, as OpenAI writes durations). No budget, no header.
 */
export function rateLimitHeaders(states: readonly CounterState[], now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const tightest = (metrics: ReadonlySet<BudgetMetric>) => {
    let best: CounterState | undefined;
    for (const state of states) {
      if (!metrics.has(state.metric)) continue;
      if (best === undefined || state.remaining < best.remaining) best = state;
    }
    return best;
  };
  for (const [suffix, metrics] of [["requests", requestMetrics], ["tokens", tokenMetrics]] as const) {
    const state = tightest(metrics);
    if (state === undefined) continue;
    headers[`x-ratelimit-limit-${suffix}`] = String(state.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(Math.max(0, state.remaining));
    headers[`x-ratelimit-reset-${suffix}`] = formatReset(Math.max(0, state.resetAt - now));
  }
  return headers;
}

/** A duration as OpenAI writes it in x-ratelimit-reset-*: `1h2m3s`, `6m0s`, `1.5s`, `250ms`. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const totalSeconds = Math.ceil(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

import type { BudgetWindow } from "../config/budgets-schema.ts";

export interface WindowSpan {
  /** Stable id of the window, e.g. `2026-12`, `2026-12-04`, `2026-12-04T19`, `2026-12-04T19:07`. */
  id: string;
  /** Epoch milliseconds, inclusive. */
  start: number;
  /** Epoch milliseconds, exclusive: when the window resets. */
  end: number;
}

/** The calendar window (UTC) that contains `now`. */
export function windowAt(window: BudgetWindow, now: number): WindowSpan {
  const date = new Date(now);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const d = date.getUTCDate();
  const h = date.getUTCHours();
  const min = date.getUTCMinutes();
  const pad = (n: number) => String(n).padStart(2, "0");
  switch (window) {
    case "month":
      return { id: `${y}-${pad(m + 1)}`, start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
    case "day":
      return { id: `${y}-${pad(m + 1)}-${pad(d)}`, start: Date.UTC(y, m, d), end: Date.UTC(y, m, d + 1) };
    case "hour":
      return { id: `${y}-${pad(m + 1)}-${pad(d)}T${pad(h)}`, start: Date.UTC(y, m, d, h), end: Date.UTC(y, m, d, h + 1) };
    case "minute":
      return {
        id: `${y}-${pad(m + 1)}-${pad(d)}T${pad(h)}:${pad(min)}`,
        start: Date.UTC(y, m, d, h, min),
        end: Date.UTC(y, m, d, h, min + 1),
      };
  }
}

/** The length of the sliding window of rate limits (RPM, TPM). */
export const slidingWindowMs = 60_000;

import {
  type BudgetStore,
  type Counter,
  type CounterSnapshot,
  type CounterState,
  rateMetrics,
  type ReserveRequest,
  type ReserveResult,
  type SettleRequest,
  type Shortfall,
  windowMetrics,
} from "./budget-store.ts";
import { slidingWindowMs } from "./windows.ts";

interface WindowState {
  used: number[];
  reserved: number[];
  /** request id -> its lease */
  leases: Map<string, { expiresAt: number; amounts: readonly number[] }>;
  windowEnd: number;
}

interface RateState {
  /** second (epoch s) -> [requests, tokens] */
  buckets: Map<number, number[]>;
  /** request id -> the second its reservation was counted in, and its tokens */
  leases: Map<string, { second: number; tokens: number }>;
}

const slidingSeconds = slidingWindowMs / 1000;

const keyOf = (counter: Counter): string =>
  counter.kind === "window" ? `w\u0000${counter.budget}\u0000${counter.subject}\u0000${counter.windowId}` : `r\u0000${counter.budget}\u0000${counter.subject}`;

/**
 * Budget counters in this process's memory: the embedded default for a single replica, and the
 * per-replica limiter a gateway falls back to when Redis is unreachable in fail-open mode. It follows
 * exactly the semantics of the Redis store's scripts (see redis-store.ts); JavaScript runs one reserve
 * at a time, which is what makes it atomic.
 */
export class MemoryBudgetStore implements BudgetStore {
  readonly kind = "memory" as const;
  private readonly windows = new Map<string, WindowState>();
  private readonly rates = new Map<string, RateState>();
  /** request id -> when its settled marker expires */
  private readonly settled = new Map<string, number>();
  private readonly overridden = new Map<string, string>();
  private readonly jobs = new Map<string, { record: string; expiresAt: number; claimed: boolean }>();

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    const { now } = request;
    this.sweep(now);
    const states: CounterState[] = [];
    for (const counter of request.counters) {
      const shortfall = counter.kind === "window" ? this.checkWindow(counter, states) : this.checkRate(counter, now, states);
      if (shortfall !== undefined) return { ok: false, shortfall };
    }
    for (const counter of request.counters) {
      if (counter.kind === "window") {
        const state = this.window(counter);
        counter.amounts.forEach((amount, i) => {
          state.reserved[i] = (state.reserved[i] ?? 0) + amount;
        });
        state.leases.set(request.requestId, { expiresAt: now + request.leaseMs, amounts: [...counter.amounts] });
      } else {
        const state = this.rate(counter);
        const second = Math.floor(now / 1000);
        const bucket = state.buckets.get(second) ?? [0, 0];
        bucket[0] = (bucket[0] ?? 0) + counter.amounts[0];
        bucket[1] = (bucket[1] ?? 0) + counter.amounts[1];
        state.buckets.set(second, bucket);
        state.leases.set(request.requestId, { second, tokens: counter.amounts[1] });
      }
    }
    return { ok: true, states };
  }

  async settle(request: SettleRequest): Promise<boolean> {
    const { now } = request;
    this.sweep(now);
    if (this.settled.has(request.requestId)) return false;
    for (const { counter, actual } of request.counters) {
      if (counter.kind === "window") {
        const state = this.window(counter);
        const lease = state.leases.get(request.requestId);
        if (lease !== undefined) {
          lease.amounts.forEach((amount, i) => {
            state.reserved[i] = (state.reserved[i] ?? 0) - amount;
          });
          state.leases.delete(request.requestId);
        }
        actual.forEach((amount, i) => {
          state.used[i] = (state.used[i] ?? 0) + amount;
        });
      } else {
        const state = this.rate(counter);
        const lease = state.leases.get(request.requestId);
        // Tokens are corrected in the second the request was counted in, while that second is still in
        // the sliding minute; past it, they count now. The request itself was counted when reserved.
        const second = lease !== undefined && lease.second > Math.floor(now / 1000) - slidingSeconds ? lease.second : Math.floor(now / 1000);
        const bucket = state.buckets.get(second) ?? [0, 0];
        bucket[1] = (bucket[1] ?? 0) + (actual[1] ?? 0) - (lease !== undefined && lease.second === second ? lease.tokens : 0);
        state.buckets.set(second, bucket);
        state.leases.delete(request.requestId);
      }
    }
    this.settled.set(request.requestId, now + settledMemoryMs);
    return true;
  }

  async snapshot(counters: readonly Counter[], now: number): Promise<CounterSnapshot[]> {
    this.sweep(now);
    return counters.map((counter) => {
      if (counter.kind === "window") {
        const state = this.windows.get(keyOf(counter));
        return {
          budget: counter.budget,
          subject: counter.subject,
          kind: "window",
          windowId: counter.windowId,
          used: [...(state?.used ?? [0, 0, 0, 0, 0])],
          reserved: [...(state?.reserved ?? [0, 0, 0, 0, 0])],
        };
      }
      const state = this.rates.get(keyOf(counter));
      const totals = [0, 0];
      for (const [second, bucket] of state?.buckets ?? []) {
        if (second > Math.floor(now / 1000) - slidingSeconds) {
          totals[0] = (totals[0] ?? 0) + (bucket[0] ?? 0);
          totals[1] = (totals[1] ?? 0) + (bucket[1] ?? 0);
        }
      }
      return { budget: counter.budget, subject: counter.subject, kind: "rate", windowId: "sliding-minute", used: totals, reserved: [0, 0] };
    });
  }

  async rememberJob(key: string, record: string, ttlMs: number): Promise<void> {
    if (!this.jobs.has(key)) this.jobs.set(key, { record, expiresAt: Date.now() + ttlMs, claimed: false });
  }

  async claimJob(key: string): Promise<string | undefined> {
    const job = this.jobs.get(key);
    if (job === undefined || job.claimed || job.expiresAt <= Date.now()) return undefined;
    job.claimed = true;
    return job.record;
  }

  async overrides(): Promise<Record<string, string>> {
    return Object.fromEntries(this.overridden);
  }

  async setOverride(budget: string, value: string | undefined): Promise<void> {
    if (value === undefined) this.overridden.delete(budget);
    else this.overridden.set(budget, value);
  }

  async close(): Promise<void> {}

  private window(counter: Counter & { kind: "window" }): WindowState {
    const key = keyOf(counter);
    let state = this.windows.get(key);
    if (state === undefined) {
      state = { used: [0, 0, 0, 0, 0], reserved: [0, 0, 0, 0, 0], leases: new Map(), windowEnd: counter.windowEnd };
      this.windows.set(key, state);
    }
    return state;
  }

  private rate(counter: Counter & { kind: "rate" }): RateState {
    const key = keyOf(counter);
    let state = this.rates.get(key);
    if (state === undefined) {
      state = { buckets: new Map(), leases: new Map() };
      this.rates.set(key, state);
    }
    return state;
  }

  private checkWindow(counter: Counter & { kind: "window" }, states: CounterState[]): Shortfall | undefined {
    const state = this.windows.get(keyOf(counter));
    for (let i = 0; i < windowMetrics.length; i++) {
      const limit = counter.limits[i] ?? -1;
      if (limit < 0) continue;
      const current = (state?.used[i] ?? 0) + (state?.reserved[i] ?? 0);
      const requested = counter.amounts[i] ?? 0;
      if (current + requested > limit) {
        return { budget: counter.budget, subject: counter.subject, metric: windowMetrics[i] as Shortfall["metric"], limit, current, requested, retryAt: counter.windowEnd };
      }
      states.push({ budget: counter.budget, subject: counter.subject, metric: windowMetrics[i] as CounterState["metric"], limit, remaining: limit - current - requested, resetAt: counter.windowEnd });
    }
    return undefined;
  }

  private checkRate(counter: Counter & { kind: "rate" }, now: number, states: CounterState[]): Shortfall | undefined {
    const state = this.rates.get(keyOf(counter));
    const second = Math.floor(now / 1000);
    const totals = [0, 0];
    let oldest = second;
    for (const [at, bucket] of state?.buckets ?? []) {
      if (at <= second - slidingSeconds) continue;
      totals[0] = (totals[0] ?? 0) + (bucket[0] ?? 0);
      totals[1] = (totals[1] ?? 0) + (bucket[1] ?? 0);
      if (at < oldest && ((bucket[0] ?? 0) > 0 || (bucket[1] ?? 0) > 0)) oldest = at;
    }
    const resetAt = (oldest + slidingSeconds) * 1000;
    for (let i = 0; i < rateMetrics.length; i++) {
      const limit = counter.limits[i] ?? -1;
      if (limit < 0) continue;
      const current = totals[i] ?? 0;
      const requested = counter.amounts[i] ?? 0;
      if (current + requested > limit) {
        return { budget: counter.budget, subject: counter.subject, metric: rateMetrics[i] as Shortfall["metric"], limit, current, requested, retryAt: resetAt };
      }
      states.push({ budget: counter.budget, subject: counter.subject, metric: rateMetrics[i] as CounterState["metric"], limit, remaining: limit - current - requested, resetAt });
    }
    return undefined;
  }

  /** Drops expired leases (their reservations with them), old buckets, finished windows, old markers. */
  private sweep(now: number): void {
    for (const [key, state] of this.windows) {
      for (const [id, lease] of state.leases) {
        if (lease.expiresAt > now) continue;
        lease.amounts.forEach((amount, i) => {
          state.reserved[i] = (state.reserved[i] ?? 0) - amount;
        });
        state.leases.delete(id);
      }
      if (state.windowEnd + windowGraceMs < now && state.leases.size === 0) this.windows.delete(key);
    }
    const oldestSecond = Math.floor(now / 1000) - slidingSeconds;
    for (const [key, state] of this.rates) {
      for (const second of state.buckets.keys()) if (second <= oldestSecond) state.buckets.delete(second);
      for (const [id, lease] of state.leases) if (lease.second <= oldestSecond) state.leases.delete(id);
      if (state.buckets.size === 0 && state.leases.size === 0) this.rates.delete(key);
    }
    for (const [id, expiresAt] of this.settled) if (expiresAt <= now) this.settled.delete(id);
  }
}

/** A finished window's counters are kept this long after it ends, for late settlements and reports. */
export const windowGraceMs = 2 * 24 * 3600_000;
/** How long a settled request id is remembered, so a repeated settlement does not count twice. */
export const settledMemoryMs = 24 * 3600_000;

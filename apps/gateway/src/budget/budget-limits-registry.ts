import type { BudgetConfig } from "../config/budgets-schema.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { BudgetAdmin, BudgetCounterStatus, BudgetDefinition, BudgetLimitValues } from "./budget-admin.ts";
import { BudgetBook } from "./budget-book.ts";
import type { BudgetStore, Counter } from "./budget-store.ts";
import type { ResilientBudgetStore } from "./resilient-store.ts";
import { windowAt } from "./windows.ts";

/** How often every replica rereads limits changed at run time. */
const refreshMs = 1000;
/** Per budget, the SPIFFE IDs whose counters the admin API lists without being asked for one. */
const maxSubjectsPerBudget = 10_000;
const limitKeys = ["costMicroUsd", "inputTokens", "outputTokens", "totalTokens", "requests", "requestsPerMinute", "tokensPerMinute"] as const;

/**
 * The budgets in force: the configured ones (replaced when the configuration file is reloaded) with
 * the limits operators changed at run time, which live in the budget store so every replica sees them
 * (each rereads them every second).
 */
export class BudgetLimitsRegistry {
  private configured: readonly BudgetConfig[];
  private overrides: Record<string, BudgetLimitValues> = {};
  private current: BudgetBook;
  private readonly store: BudgetStore;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private readonly subjects = new Map<string, Set<string>>();

  constructor(configured: readonly BudgetConfig[], store: BudgetStore, logger: Logger) {
    this.configured = configured;
    this.store = store;
    this.logger = logger;
    this.current = new BudgetBook(configured);
  }

  book(): BudgetBook {
    return this.current;
  }

  /** A reloaded configuration's budgets. */
  setConfigured(configured: readonly BudgetConfig[]): void {
    this.configured = configured;
    this.rebuild();
  }

  async start(): Promise<void> {
    await this.refresh().catch(() => undefined);
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Rereads the run-time limits from the store. */
  async refresh(): Promise<void> {
    const raw = await this.store.overrides();
    const next: Record<string, BudgetLimitValues> = {};
    for (const [name, text] of Object.entries(raw)) {
      try {
        next[name] = JSON.parse(text) as BudgetLimitValues;
      } catch {
        this.logger.warn({ budget: name }, "ignoring an unreadable run-time budget change");
      }
    }
    if (JSON.stringify(next) === JSON.stringify(this.overrides)) return;
    this.overrides = next;
    this.rebuild();
  }

  /** Remembers who used a per-agent budget, so the admin API can list their counters. */
  noteSubject(budget: string, subject: string): void {
    let seen = this.subjects.get(budget);
    if (seen === undefined) {
      seen = new Set();
      this.subjects.set(budget, seen);
    }
    if (seen.size < maxSubjectsPerBudget) seen.add(subject);
  }

  admin(store: ResilientBudgetStore, now: () => number): BudgetAdmin {
    return {
      definitions: async () => {
        await this.refresh().catch(() => undefined);
        return this.current.definitions();
      },
      status: async (options = {}) => {
        await this.refresh().catch(() => undefined);
        const at = now();
        const definitions = this.current.definitions().filter((d) => options.budget === undefined || d.name === options.budget);
        const counters: Array<{ definition: BudgetDefinition; counter: Counter }> = [];
        for (const definition of definitions) {
          const subjects =
            definition.split === "shared"
              ? ["*"]
              : options.subject !== undefined
                ? [options.subject]
                : [...(this.subjects.get(definition.name) ?? [])];
          for (const subject of subjects) {
            for (const counter of this.current.counters([definition], subject, { costMicroUsd: 0, inputTokens: 0, outputTokens: 0, requests: 0 }, at)) {
              counters.push({ definition, counter });
            }
          }
        }
        const snapshots = await store.snapshot(counters.map((c) => c.counter), at);
        return snapshots.map((snapshot, i): BudgetCounterStatus => {
          const { definition, counter } = counters[i] as { definition: BudgetDefinition; counter: Counter };
          const window = counter.kind === "window" && definition.window !== undefined ? windowAt(definition.window, at) : undefined;
          const amounts = (values: number[]) =>
            counter.kind === "window"
              ? { costMicroUsd: values[0] ?? 0, inputTokens: values[1] ?? 0, outputTokens: values[2] ?? 0, totalTokens: values[3] ?? 0, requests: values[4] ?? 0 }
              : { costMicroUsd: 0, inputTokens: 0, outputTokens: 0, totalTokens: values[1] ?? 0, requests: values[0] ?? 0 };
          return {
            budget: snapshot.budget,
            subject: snapshot.subject,
            window: window === undefined ? "sliding-minute" : (definition.window as BudgetCounterStatus["window"]),
            windowStart: new Date(window?.start ?? at - 60_000).toISOString(),
            resetsAt: new Date(window?.end ?? at).toISOString(),
            limits: definition.limits,
            used: amounts(snapshot.used),
            reserved: amounts(snapshot.reserved),
          };
        });
      },
      setLimits: async (budget, limits) => {
        this.requireBudget(budget);
        const clean: BudgetLimitValues = {};
        for (const key of limitKeys) {
          const value = limits[key];
          if (value === undefined) continue;
          if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${key} must be a positive whole number (got ${String(value)})`);
          clean[key] = value;
        }
        if (Object.keys(clean).length === 0) throw new RangeError("give at least one limit");
        await this.store.setOverride(budget, JSON.stringify(clean));
        await this.refresh();
        return this.current.definition(budget) as BudgetDefinition;
      },
      resetLimits: async (budget) => {
        this.requireBudget(budget);
        await this.store.setOverride(budget, undefined);
        await this.refresh();
        return this.current.definition(budget) as BudgetDefinition;
      },
    };
  }

  private requireBudget(name: string): void {
    if (!this.configured.some((b) => b.name === name)) throw new RangeError(`no budget is named "${name}"`);
  }

  private rebuild(): void {
    this.current = new BudgetBook(this.configured, this.overrides);
  }
}

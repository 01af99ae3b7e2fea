import type { Logger } from "../telemetry/logger.ts";
import { BudgetStoreUnavailableError } from "./budget-store.ts";

/** The most settlements kept waiting for the store; past it the oldest are given up (and logged). */
const maxPending = 100_000;
const firstRetryMs = 200;
const maxRetryMs = 10_000;

/**
 * Settlements run off the request's path. One that cannot reach the store is retried with backoff
 * until it can (settling is idempotent per request id, so a retry never counts twice); until then the
 * reservation keeps holding the worst case, or lapses when its lease ends. On shutdown, `drain` waits
 * for what is running and tries what is waiting once more.
 */
export class SettlementQueue {
  private readonly logger: Logger;
  private readonly running = new Set<Promise<void>>();
  private waiting: Array<() => Promise<boolean>> = [];
  private timer: NodeJS.Timeout | undefined;
  private delay = firstRetryMs;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  add(task: () => Promise<boolean>): void {
    this.run(task);
  }

  get pending(): number {
    return this.running.size + this.waiting.length;
  }

  async drain(): Promise<void> {
    clearTimeout(this.timer);
    await Promise.all([...this.running]);
    const waiting = this.waiting;
    this.waiting = [];
    await Promise.all(waiting.map((task) => task().catch((error: unknown) => this.logger.error({ err: (error as Error).message }, "a budget settlement was lost at shutdown"))));
  }

  private run(task: () => Promise<boolean>): void {
    const running = task().then(
      () => {
        this.delay = firstRetryMs;
      },
      (error: unknown) => {
        if (error instanceof BudgetStoreUnavailableError) this.wait(task);
        else this.logger.error({ err: (error as Error).message }, "a budget settlement failed");
      },
    );
    this.running.add(running);
    void running.finally(() => this.running.delete(running));
  }

  private wait(task: () => Promise<boolean>): void {
    this.waiting.push(task);
    if (this.waiting.length > maxPending) {
      this.waiting.shift();
      this.logger.error("too many budget settlements waiting for the store: the oldest was given up");
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const retry = this.waiting;
      this.waiting = [];
      this.delay = Math.min(this.delay * 2, maxRetryMs);
      for (const task of retry) this.run(task);
    }, this.delay);
    this.timer.unref();
  }
}

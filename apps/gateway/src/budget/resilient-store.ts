import type { Logger } from "../telemetry/logger.ts";
import {
  type BudgetStore,
  BudgetStoreUnavailableError,
  type Counter,
  type CounterSnapshot,
  type ReserveRequest,
  type ReserveResult,
  type SettleRequest,
} from "./budget-store.ts";
import { MemoryBudgetStore } from "./memory-store.ts";
import { SettlementQueue } from "./settlement-queue.ts";

export type StoreFailureMode = "fail_closed" | "fail_open";

/** After the shared store failed, how long to go without asking it (then one request probes it). */
const probeIntervalMs = 1000;

/**
 * The shared store (Redis) with the behaviour operators choose for when it is unreachable:
 * fail closed (the call throws BudgetStoreUnavailableError, the caller answers 503) or fail open (a
 * per-replica in-memory store with the same limits takes over, so each replica enforces the limits
 * on its own share of traffic). Either way recovery needs no restart: once the shared store answers
 * again, new reservations go to it. A reservation is settled on the store that made it.
 */
export class ResilientBudgetStore {
  readonly shared: BudgetStore;
  private readonly local = new MemoryBudgetStore();
  private readonly mode: StoreFailureMode;
  private readonly logger: Logger | undefined;
  private downSince: number | undefined;
  private skipUntil = 0;
  private readonly releases: SettlementQueue | undefined;

  constructor(shared: BudgetStore, mode: StoreFailureMode, logger?: Logger) {
    this.shared = shared;
    this.mode = mode;
    this.logger = logger;
    this.releases = logger === undefined ? undefined : new SettlementQueue(logger);
  }

  /** Whether the shared store answered the last call. */
  get available(): boolean {
    return this.downSince === undefined;
  }

  async reserve(request: ReserveRequest): Promise<{ result: ReserveResult; store: BudgetStore }> {
    if (Date.now() >= this.skipUntil) {
      try {
        const result = await this.shared.reserve(request);
        this.recovered();
        return { result, store: this.shared };
      } catch (error) {
        if (!(error instanceof BudgetStoreUnavailableError)) throw error;
        this.failed(error);
        this.release(request);
      }
    }
    if (this.mode === "fail_closed") throw new BudgetStoreUnavailableError("the budget store is unreachable");
    return { result: await this.local.reserve(request), store: this.local };
  }

  async settle(store: BudgetStore, request: SettleRequest): Promise<boolean> {
    const settled = await store.settle(request);
    if (store === this.shared) this.recovered();
    return settled;
  }

  async snapshot(counters: readonly Counter[], now: number): Promise<CounterSnapshot[]> {
    return this.shared.snapshot(counters, now);
  }

  async close(): Promise<void> {
    await this.releases?.drain();
    await this.shared.close();
    await this.local.close();
  }

  /**
   * A call that timed out may still have run: the reservation would then hold budget until its lease
   * ends, for a request the gateway refused. Settling it with no usage releases it (and does nothing if
   * it never ran); settling is idempotent, so retrying until the store answers is safe.
   */
  private release(request: ReserveRequest): void {
    const none = [0, 0, 0, 0, 0] as const;
    this.releases?.add(() =>
      this.shared.settle({
        requestId: request.requestId,
        now: request.now,
        counters: request.counters.map((counter) => ({ counter, actual: counter.kind === "window" ? none : ([0, 0] as const) })),
      }),
    );
  }

  private failed(error: Error): void {
    this.skipUntil = Date.now() + probeIntervalMs;
    if (this.downSince === undefined) {
      this.downSince = Date.now();
      this.logger?.error(
        { err: error.message, mode: this.mode },
        this.mode === "fail_closed"
          ? "budget store unreachable: refusing requests with budgets until it answers"
          : "budget store unreachable: enforcing budgets per replica until it answers",
      );
    }
  }

  private recovered(): void {
    if (this.downSince === undefined) return;
    this.logger?.info({ downForMs: Date.now() - this.downSince }, "budget store reachable again");
    this.downSince = undefined;
    this.skipUntil = 0;
  }
}

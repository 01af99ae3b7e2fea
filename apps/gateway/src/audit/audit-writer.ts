import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import type { AuditRow, ChainedAuditRow } from "./audit-row.ts";
import type { AuditSink } from "./audit-sink.ts";
import type { AuditSpool } from "./audit-spool.ts";
import { describeError, isUnavailable } from "./database-errors.ts";
import { HashChain } from "./hash-chain.ts";

export interface AuditWriterLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface AuditWriterOptions {
  sink: AuditSink;
  spool: AuditSpool;
  chainId: string;
  batchSize: number;
  flushIntervalMs: number;
  queueLimit: number;
  retryIntervalMs: number;
  log: AuditWriterLog;
}

export interface AuditWriterStatus {
  chainId: string;
  /** Rows finished by this writer since it started (the chain's length). */
  rows: number;
  /** Rows in memory waiting for their batch. */
  queued: number;
  /** Rows in the local spool waiting for PostgreSQL. */
  spooled: number;
  written: number;
  database: "up" | "down";
  spool: "ok" | "unavailable";
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
  /** Whether a new row could be kept now (written or spooled): what required-audit mode checks. */
  accepting: boolean;
}

/**
 * The audit writer: takes finished rows off the request path and makes sure each one ends up in
 * PostgreSQL exactly once, whatever happens to PostgreSQL meanwhile.
 *
 *  - `add` (called when an exchange finishes) links the row into this writer's hash chain and
 *    queues it: no I/O, no await.
 *  - One flush loop, never two at once, writes the queue in batches: to PostgreSQL while it answers
 *    and nothing is spooled; to the spool (fsynced) while it does not, or while older rows are still
 *    spooled, so rows reach the database in the order they were finished.
 *  - While rows are spooled, PostgreSQL is tried every `retryIntervalMs`; when it answers, the spool is
 *    written back oldest first, then the writer returns to writing directly.
 *  - Memory is bounded: past `queueLimit` queued rows, the queue is spooled synchronously there and then.
 *  - `drain` (SIGTERM) writes or spools everything queued before the process exits.
 *
 * A row PostgreSQL refuses for what it contains (never expected: rows are made storable when built)
 * is written to `rejected.ndjson` in the spool directory, logged, and kept out of the batch, so one bad
 * row cannot hold every other row back.
 */
export class AuditWriter {
  private readonly options: AuditWriterOptions;
  private readonly chain: HashChain;
  private queue: ChainedAuditRow[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private databaseUp = true;
  private spoolOk = true;
  private nextRetryAt = 0;
  private written = 0;
  private lastError: string | undefined;
  private lastErrorAt: Date | undefined;
  private closed = false;
  private stopping = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(options: AuditWriterOptions) {
    this.options = options;
    this.chain = new HashChain(options.chainId);
    // Rows left in the spool by an earlier run go back first.
    if (options.spool.pending > 0) {
      this.databaseUp = false;
      this.schedule(0);
    }
  }

  /** Queues a finished request's row. Never throws and never waits. */
  add(row: AuditRow): void {
    const chained = this.chain.link(row);
    if (this.closed) {
      // Finished after the drain (nothing should be, the listeners are closed first): straight to disk.
      this.queue.push(chained);
      this.spoolQueueNow();
      return;
    }
    this.queue.push(chained);
    if (this.queue.length >= this.options.queueLimit) {
      this.spoolQueueNow();
      return;
    }
    if (this.queue.length >= this.options.batchSize) this.schedule(0);
    else this.schedule(this.options.flushIntervalMs);
  }

  /** Cheap enough for every request: a few field reads. */
  get accepting(): boolean {
    if (this.closed) return false;
    if (this.spoolOk) return true;
    return this.databaseUp && this.queue.length < this.options.queueLimit;
  }

  status(): AuditWriterStatus {
    return {
      chainId: this.chain.id,
      rows: this.chain.length,
      queued: this.queue.length,
      spooled: this.options.spool.pending,
      written: this.written,
      database: this.databaseUp ? "up" : "down",
      spool: this.spoolOk ? "ok" : "unavailable",
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      accepting: this.accepting,
    };
  }

  /** Resolves when nothing is queued and no flush runs (rows may still be spooled if PostgreSQL is down). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.flushing === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Writes everything queued now, and the spool too if PostgreSQL answers (tests and `flush` calls;
   * the writer does this on its own within flush_interval / retry_interval).
   */
  async flushAll(): Promise<void> {
    if (this.flushing !== undefined) await this.flushing;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRetryAt = 0;
    this.flushing = this.flushLoop();
    await this.flushing;
  }

  /**
   * Stops taking rows and writes out the queue: to PostgreSQL if it answers, to the spool if not.
   * Called on shutdown, after the listeners have let their last requests finish.
   */
  async drain(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing !== undefined) await this.flushing;
    if (this.queue.length > 0) {
      this.flushing = this.flushLoop();
      await this.flushing;
    }
    this.closed = true;
    const { queued, spooled, written } = this.status();
    if (queued > 0) this.options.log.error({ queued, chain: this.chain.id }, "audit rows could be neither written nor spooled before exit");
    this.options.log.info({ spooled, written, chain: this.chain.id, rows: this.chain.length }, "audit writer drained");
  }

  private schedule(delayMs: number): void {
    if (this.flushing !== undefined || this.stopping) return;
    if (this.timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.flushing === undefined) this.flushing = this.flushLoop();
    }, delayMs);
  }

  private async flushLoop(): Promise<void> {
    try {
      for (;;) {
        const spool = this.options.spool;
        if (spool.pending > 0 && Date.now() >= this.nextRetryAt) await this.replaySpool();
        if (this.queue.length === 0) break;
        const batch = this.queue.splice(0, this.options.batchSize);
        // Straight to the database while nothing older waits in the spool; while it is down, only
        // once the retry interval has passed (the spool takes the rows in between).
        if (spool.pending === 0 && (this.databaseUp || Date.now() >= this.nextRetryAt)) {
          if (await this.writeToDatabase(batch)) continue;
        }
        if (!(await this.writeToSpool(batch))) {
          // Neither place takes rows: keep them (in order) and try again later.
          this.queue.unshift(...batch);
          break;
        }
      }
    } finally {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule(this.options.retryIntervalMs);
      else if (this.options.spool.pending > 0) this.schedule(Math.max(1, this.nextRetryAt - Date.now()));
      if (this.queue.length === 0 || this.stopping) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Returns false when PostgreSQL is unreachable (the rows are untouched and should be spooled). */
  private async writeToDatabase(batch: ChainedAuditRow[]): Promise<boolean> {
    try {
      this.written += await this.options.sink.insert(batch);
      if (!this.databaseUp) this.options.log.info({}, "PostgreSQL answers again; audit rows are written directly");
      this.databaseUp = true;
      return true;
    } catch (error) {
      if (isUnavailable(error)) {
        this.markDatabaseDown(error);
        return false;
      }
      await this.writeOneByOne(batch, error);
      return true;
    }
  }

  /** A batch PostgreSQL refused for its content: find the rows it refuses, set them aside, write the rest. */
  private async writeOneByOne(batch: ChainedAuditRow[], batchError: unknown): Promise<void> {
    this.options.log.error({ err: describeError(batchError), rows: batch.length }, "PostgreSQL refused an audit batch; writing its rows one by one");
    for (let i = 0; i < batch.length; i++) {
      const row = batch[i] as ChainedAuditRow;
      try {
        this.written += await this.options.sink.insert([row]);
      } catch (error) {
        if (isUnavailable(error)) {
          this.markDatabaseDown(error);
          if (!(await this.writeToSpool(batch.slice(i)))) this.queue.unshift(...batch.slice(i));
          return;
        }
        await this.reject(row, error);
      }
    }
  }

  private async writeToSpool(batch: ChainedAuditRow[]): Promise<boolean> {
    try {
      await this.options.spool.append(batch);
      if (!this.spoolOk) this.options.log.info({}, "the audit spool takes rows again");
      this.spoolOk = true;
      return true;
    } catch (error) {
      if (this.spoolOk) this.options.log.error({ err: describeError(error) }, "the audit spool cannot take rows");
      this.spoolOk = false;
      this.recordError(error);
      return false;
    }
  }

  private async replaySpool(): Promise<void> {
    const spool = this.options.spool;
    const before = spool.pending;
    try {
      const replayed = await spool.replay(
        async (rows) => {
          try {
            this.written += await this.options.sink.insert(rows);
          } catch (error) {
            if (isUnavailable(error)) throw error;
            await this.writeOneByOne(rows, error);
            if (!this.databaseUp) throw error;
          }
        },
        this.options.batchSize,
        (line) => appendFile(join(spool.dir, "rejected.ndjson"), `${line}\n`),
      );
      if (!this.databaseUp) this.options.log.info({ replayed }, "PostgreSQL answers again; the audit spool was written back");
      else if (replayed > 0) this.options.log.info({ replayed }, "audit rows left in the spool by an earlier run were written back");
      this.databaseUp = true;
    } catch (error) {
      this.markDatabaseDown(error);
      if (before !== spool.pending) this.options.log.info({ replayed: before - spool.pending, left: spool.pending }, "audit spool partly written back");
    }
  }

  private markDatabaseDown(error: unknown): void {
    if (this.databaseUp) this.options.log.warn({ err: describeError(error) }, "PostgreSQL is unreachable; audit rows go to the local spool until it answers");
    this.databaseUp = false;
    this.nextRetryAt = Date.now() + this.options.retryIntervalMs;
    this.recordError(error);
  }

  private recordError(error: unknown): void {
    this.lastError = describeError(error);
    this.lastErrorAt = new Date();
  }

  private async reject(row: ChainedAuditRow, error: unknown): Promise<void> {
    this.options.log.error({ err: describeError(error), requestId: row.request_id }, "PostgreSQL refused an audit row; it is kept in rejected.ndjson");
    await appendFile(join(this.options.spool.dir, "rejected.ndjson"), `${JSON.stringify(row)}\n`);
  }

  /** Memory is full: every queued row goes to disk before this turn of the event loop ends. */
  private spoolQueueNow(): void {
    const rows = this.queue.splice(0);
    try {
      this.options.spool.appendSync(rows);
      this.spoolOk = true;
      this.schedule(0);
    } catch (error) {
      // Nowhere to put them: keep them (memory grows past the limit rather than rows being lost);
      // required-audit mode refuses new requests meanwhile.
      this.queue.unshift(...rows);
      this.spoolOk = false;
      this.recordError(error);
      this.options.log.error({ err: describeError(error), queued: this.queue.length }, "audit queue full and the spool refuses rows");
      this.schedule(this.options.retryIntervalMs);
    }
  }
}

/**
 * Faults a test queues on the demo provider to exercise the gateway's retries, fallbacks, timeouts
 * and client aborts. Each fault is consumed by the next request(s) it matches, in the order queued.
 */
import { matchesRequest, type RequestFilter } from "./request-filter.ts";

interface FaultScope extends RequestFilter {
  /** How many matching requests this fault answers (1 unless given). */
  times?: number;
}

/** Answer with this status (and headers and body; the body defaults to the provider's error shape). */
export interface StatusFault extends FaultScope {
  kind?: "status";
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON, or as it is when a string. */
  body?: unknown;
}

/** Destroy the connection before any byte of a response is written. */
export interface ResetFault extends FaultScope {
  kind: "reset";
}

/** Never answer; the provider waits until the client goes away and records that it went away. */
export interface HangFault extends FaultScope {
  kind: "hang";
}

/**
 * Write the status, the headers and the first `afterChunks` events of a stream, then stall until the
 * client goes away. A JSON (non-streaming) answer stalls after its headers.
 */
export interface StallStreamFault extends FaultScope {
  kind: "stall-stream";
  afterChunks: number;
}

/** Hold the request before it is handled until `release` settles, then answer normally. */
export interface GateFault extends FaultScope {
  kind: "gate";
  release: Promise<void>;
}

export type DemoFault = StatusFault | ResetFault | HangFault | StallStreamFault | GateFault;

interface QueuedFault {
  readonly fault: DemoFault;
  remaining: number;
}

export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  /** Queues faults; each answers the next `times` requests that match its `path` and `method`. */
  push(...faults: DemoFault[]): void {
    for (const fault of faults) {
      validateFault(fault);
      this.#queue.push({ fault, remaining: fault.times ?? 1 });
    }
  }

  /** Drops every queued fault. */
  clear(): void {
    this.#queue.length = 0;
  }

  /** How many faults are still queued. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Takes the first queued fault matching the request, if any. */
  take(method: string, path: string): DemoFault | undefined {
    if (this.#queue.length === 0) return undefined;
    const index = this.#queue.findIndex((queued) => matchesRequest(queued.fault, method, path));
    const queued = this.#queue[index];
    if (queued === undefined) return undefined;
    queued.remaining -= 1;
    if (queued.remaining === 0) this.#queue.splice(index, 1);
    return queued.fault;
  }
}

/** Mistakes in a test's fault are thrown at `push`, where the test can see them. */
function validateFault(fault: DemoFault): void {
  if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
    throw new TypeError(`A fault's times must be a positive integer, got ${fault.times}.`);
  }
  switch (fault.kind) {
    case undefined:
    case "status":
      if (!Number.isInteger(fault.status) || fault.status < 200 || fault.status > 599) {
        throw new TypeError(`A status fault needs an HTTP status between 200 and 599, got ${fault.status}.`);
      }
      return;
    case "stall-stream":
      if (!Number.isInteger(fault.afterChunks) || fault.afterChunks < 0) {
        throw new TypeError(`A stall-stream fault needs afterChunks >= 0, got ${fault.afterChunks}.`);
      }
      return;
    case "gate":
      if (!(fault.release instanceof Promise)) throw new TypeError("A gate fault needs a release promise.");
      return;
    case "reset":
    case "hang":
      return;
  }
}

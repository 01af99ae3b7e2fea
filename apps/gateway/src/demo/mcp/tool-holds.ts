import { EventEmitter } from "node:events";

interface HoldEvents {
  held: [name: string];
  released: [name: string];
  cancelled: [name: string];
}

/**
 * Named points where a demo tool waits until something releases it: tests use them to keep a tool
 * running while they watch its progress, or cancel it, without sleeping. A release that comes before
 * the wait is kept, so the order of the two never matters.
 */
export class ToolHolds extends EventEmitter<HoldEvents> {
  readonly #waiting = new Map<string, () => void>();
  readonly #released = new Set<string>();
  /** Holds whose tool call was cancelled while it waited, in order. */
  readonly cancelled: string[] = [];

  /** Waits until `name` is released, or the call is cancelled. */
  wait(name: string, signal: AbortSignal): Promise<"released" | "cancelled"> {
    if (this.#released.delete(name)) return Promise.resolve("released");
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#waiting.delete(name);
        this.cancelled.push(name);
        this.emit("cancelled", name);
        resolve("cancelled");
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(name, () => {
        signal.removeEventListener("abort", onAbort);
        resolve("released");
      });
      this.emit("held", name);
    });
  }

  release(name: string): void {
    const waiting = this.#waiting.get(name);
    this.emit("released", name);
    if (waiting === undefined) {
      this.#released.add(name);
      return;
    }
    this.#waiting.delete(name);
    waiting();
  }
}

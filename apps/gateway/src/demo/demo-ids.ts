/** Identifiers for the objects the demo provider creates, shaped like the real providers' ones. */
import { randomBytes } from "node:crypto";

export class IdSource {
  /** Differs between provider instances, so ids from two runs never collide. */
  readonly #instance = randomBytes(4).toString("hex");
  #counter = 0;

  /** A new id such as `chatcmpl-demo1a2b3c4d0001`. */
  next(prefix: string): string {
    this.#counter += 1;
    return `${prefix}demo${this.#instance}${this.#counter.toString(36).padStart(4, "0")}`;
  }
}

/** The current time in Unix seconds, as the providers' `created` fields carry it. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

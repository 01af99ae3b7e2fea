import { Transform, type TransformCallback } from "node:stream";
import { SseParser, type SseEvent } from "./sse-parser.ts";

/** Decides what the agent gets for one event: the bytes to write (the event's own, or others), or nothing. */
export type SseEventHandler = (event: SseEvent) => Buffer | undefined;

/**
 * Relays an SSE stream event by event: each complete event is written as soon as its blank line has
 * arrived (a progress notification reaches the agent while the tool still runs), after the handler
 * had its say. Comments (keep-alives) and events without data pass unchanged. Backpressure is the
 * stream's own: a slow agent slows the read from the server.
 */
export class SseRelay extends Transform {
  readonly #parser: SseParser;
  readonly #handle: SseEventHandler;

  constructor(maxEventSize: number, handle: SseEventHandler) {
    super();
    this.#parser = new SseParser(maxEventSize);
    this.#handle = handle;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const event of this.#parser.push(chunk)) {
        const out = event.data === undefined ? event.raw : this.#handle(event);
        if (out !== undefined) this.push(out);
      }
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // An event cut off without its blank line was never complete: SSE clients discard it too.
    callback();
  }
}

/**
 * An incremental parser of Server-Sent Events (the WHATWG event stream format) that keeps each
 * event's bytes as they came, so an event the gateway does not change is passed on byte for byte.
 */

export interface SseEvent {
  /** The event's bytes, blank line included. */
  raw: Buffer;
  /** The data lines joined with "\n"; undefined when the event has no data field (a comment, a bare id). */
  data: string | undefined;
  id: string | undefined;
  event: string | undefined;
  retry: number | undefined;
}

export class SseEventTooLargeError extends Error {
  override readonly name = "SseEventTooLargeError";
}

const LF = 0x0a;
const CR = 0x0d;

export class SseParser {
  readonly #maxEventSize: number;
  #buffer: Buffer = Buffer.alloc(0);
  /** Where scanning resumes, and where the event being read began, in #buffer. */
  #scan = 0;
  #eventStart = 0;
  #fields: Omit<SseEvent, "raw"> = { data: undefined, id: undefined, event: undefined, retry: undefined };
  #dataLines: string[] = [];

  constructor(maxEventSize: number) {
    this.#maxEventSize = maxEventSize;
  }

  /** Adds bytes; returns the events they complete. Throws SseEventTooLargeError past the limit. */
  push(chunk: Buffer): SseEvent[] {
    this.#buffer = this.#buffer.length === this.#eventStart ? chunk : Buffer.concat([this.#buffer.subarray(this.#eventStart), chunk]);
    this.#scan -= this.#eventStart;
    this.#eventStart = 0;
    const events: SseEvent[] = [];
    const buffer = this.#buffer;
    for (;;) {
      let end = this.#scan;
      while (end < buffer.length && buffer[end] !== LF && buffer[end] !== CR) end++;
      if (end >= buffer.length) break;
      // A CR at the very end may be the first half of a CRLF: wait for the next byte.
      if (buffer[end] === CR && end + 1 >= buffer.length) break;
      const next = buffer[end] === CR && buffer[end + 1] === LF ? end + 2 : end + 1;
      const line = buffer.toString("utf8", this.#scan, end);
      this.#scan = next;
      if (line === "") {
        events.push(this.#finishEvent(buffer.subarray(this.#eventStart, next)));
        this.#eventStart = next;
      } else {
        this.#readLine(line);
      }
    }
    if (this.#buffer.length - this.#eventStart > this.#maxEventSize) {
      throw new SseEventTooLargeError(`an SSE event exceeds ${this.#maxEventSize} bytes`);
    }
    return events;
  }

  #readLine(line: string): void {
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.#dataLines.push(value);
        break;
      case "id":
        if (!value.includes("\u0000")) this.#fields.id = value;
        break;
      case "event":
        this.#fields.event = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.#fields.retry = Number(value);
        break;
      default:
        break;
    }
  }

  #finishEvent(raw: Buffer): SseEvent {
    const event: SseEvent = { raw, ...this.#fields, data: this.#dataLines.length > 0 ? this.#dataLines.join("\n") : undefined };
    this.#fields = { data: undefined, id: undefined, event: undefined, retry: undefined };
    this.#dataLines = [];
    return event;
  }
}

/** An event in the wire format, for a message the gateway wrote or changed. */
export function encodeSseEvent(event: { data: string; id?: string | undefined; event?: string | undefined; retry?: number | undefined }): Buffer {
  let text = "";
  if (event.event !== undefined) text += `event: ${event.event}\n`;
  if (event.id !== undefined) text += `id: ${event.id}\n`;
  if (event.retry !== undefined) text += `retry: ${event.retry}\n`;
  for (const line of event.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return Buffer.from(`${text}\n`, "utf8");
}

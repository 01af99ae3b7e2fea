import { Readable, Transform, type TransformCallback } from "node:stream";
import { redactText, redactValue } from "./secret-redaction.ts";

/**
 * What capture keeps of one request: its JSON body (the prompt) and the first `maxBytes` of its
 * response body (the completion, or the event stream carrying it), both redacted when the row is
 * built, never before (a redaction costs nothing for requests nobody captures).
 */
export class BodyCapture {
  private readonly maxBytes: number;
  private request: unknown;
  private requestText: string | undefined;
  private readonly response: Buffer[] = [];
  private responseBytes = 0;
  private truncated = false;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /**
   * The request body as the protocol module parsed it: a JSON value, raw bytes, or the LLM module's
   * `{ raw, json }` pair. Multipart uploads are streams and are not captured.
   */
  setRequest(body: unknown): void {
    if (body === undefined || body === null || body instanceof Readable) return;
    let value: unknown = body;
    if (Buffer.isBuffer(body) || typeof body === "string") value = parsedOrText(body.toString());
    else if (typeof body === "object" && Buffer.isBuffer((body as { raw?: unknown }).raw) && "json" in body) value = (body as { json: unknown }).json;
    const text = JSON.stringify(value);
    if (text.length <= this.maxBytes) this.request = value;
    else this.requestText = text.slice(0, this.maxBytes);
  }

  addResponse(chunk: Buffer | string): void {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const room = this.maxBytes - this.responseBytes;
    if (room <= 0) {
      this.truncated ||= buffer.length > 0;
      return;
    }
    const kept = buffer.length > room ? buffer.subarray(0, room) : buffer;
    if (kept.length < buffer.length) this.truncated = true;
    this.response.push(Buffer.from(kept));
    this.responseBytes += kept.length;
  }

  /** The redacted capture for the audit row's `capture` column. */
  toColumn(): Record<string, unknown> {
    const column: Record<string, unknown> = {};
    if (this.request !== undefined) column.request = redactValue(this.request);
    if (this.requestText !== undefined) column.request_truncated = redactText(this.requestText);
    if (this.responseBytes > 0) {
      // A cut can split a UTF-8 sequence; the decoder replaces the broken end.
      column.response = redactText(Buffer.concat(this.response).toString("utf8"));
      if (this.truncated) column.response_truncated = true;
    }
    return column;
  }
}

function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Passes a response body through unchanged while copying its start into a BodyCapture. Errors and
 * early ends travel both ways: a failing upstream body fails this stream, and a caller who goes away
 * (this stream destroyed) stops the upstream body.
 */
export function captureResponse(source: Readable, capture: BodyCapture): Readable {
  const tap = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      capture.addResponse(chunk);
      callback(null, chunk);
    },
  });
  source.on("error", (error) => tap.destroy(error));
  tap.on("close", () => {
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  return source.pipe(tap);
}

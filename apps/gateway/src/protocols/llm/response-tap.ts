import { Transform, type TransformCallback } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceParser } from "eventsource-parser";
import type { LlmApi } from "../../config/schema.ts";
import { eventMayCarryFacts, factsFromJson, foldEvent, type ResponseFacts } from "./usage.ts";

/** JSON bodies larger than this are passed on without being parsed for usage. */
const maxParsedJson = 32 * 1024 * 1024;

/**
 * Passes a response body through unchanged, byte for byte, while reading what the gateway needs from
 * it: token usage, response id and model, finish reasons. SSE streams are parsed event by event as
 * they pass (nothing is held back, so streaming stays streaming); JSON bodies are kept until their end
 * and parsed once. `onDone` gets the facts when the body has been read to its end (not when the
 * caller went away first).
 */
export class ResponseTap extends Transform {
  readonly facts: ResponseFacts = {};
  private readonly api: LlmApi;
  private readonly parser: EventSourceParser | undefined;
  private readonly decoder: StringDecoder | undefined;
  private chunks: Buffer[] | undefined;
  private size = 0;
  private readonly onDone: (facts: ResponseFacts) => void;

  constructor(api: LlmApi, contentType: string | undefined, onDone: (facts: ResponseFacts) => void) {
    super();
    this.api = api;
    this.onDone = onDone;
    if (contentType?.startsWith("text/event-stream")) {
      this.decoder = new StringDecoder("utf8");
      this.parser = createParser({
        onEvent: (message) => {
          if (!eventMayCarryFacts(this.api, message.event, message.data)) return;
          try {
            foldEvent(this.api, message.event, JSON.parse(message.data), this.facts);
          } catch {
            // An event that is not JSON carries no facts; the caller still gets it unchanged.
          }
        },
      });
    } else if (contentType?.includes("json")) {
      this.chunks = [];
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.parser !== undefined && this.decoder !== undefined) {
      this.parser.feed(this.decoder.write(chunk));
    } else if (this.chunks !== undefined) {
      this.size += chunk.length;
      if (this.size <= maxParsedJson) this.chunks.push(chunk);
      else this.chunks = undefined;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.chunks !== undefined) {
      try {
        Object.assign(this.facts, factsFromJson(this.api, JSON.parse(Buffer.concat(this.chunks).toString("utf8"))));
      } catch {
        // Not JSON after all: nothing to read, the body was passed on as it was.
      }
      this.chunks = undefined;
    }
    this.onDone(this.facts);
    callback();
  }
}

import { Transform, type TransformCallback } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceParser } from "eventsource-parser";
import type { LlmApi } from "../../config/schema.ts";
import { factsFromHeadAndTail } from "./large-json-facts.ts";
import { jobsFromJson } from "./job-facts.ts";
import { outputTextOf } from "./output-text.ts";
import { eventMayCarryFacts, factsFromJson, foldEvent, type ResponseFacts } from "./usage.ts";

/** JSON bodies up to this size are kept and parsed whole at their end. */
const maxParsedJson = 1024 * 1024;
/** Of larger ones, only this much of the start and of the end is kept, where the facts are. */
const keptEnds = 64 * 1024;
/** The APIs whose responses report usage. */
const modelApis: ReadonlySet<LlmApi> = new Set(["chat", "responses", "embeddings", "messages"]);
/** The APIs whose answers show jobs whose tokens are charged when they end. */
const jobApis: ReadonlySet<LlmApi> = new Set(["batches", "fine_tuning"]);
/**
 * The most of one SSE event (or one unterminated line) the parser may hold: a provider that never ends
 * a line must not make the gateway buffer without end. Past it, facts are no longer read; the bytes
 * still pass through unchanged.
 */
const maxBufferedEvent = 4 * 1024 * 1024;
/** The most streamed event data kept for counting output the provider never reported (a cut stream). */
const maxKeptEvents = 2 * 1024 * 1024;

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
  private parser: EventSourceParser | undefined;
  private readonly decoder: StringDecoder | undefined;
  private readonly isEventStream: boolean;
  /** A JSON body while it is small enough to keep whole. */
  private chunks: Buffer[] | undefined;
  private size = 0;
  /** A large JSON body's first and (latest) last bytes. */
  private head: Buffer | undefined;
  private tail: Buffer[] = [];
  private tailSize = 0;
  private readonly isJson: boolean;
  private readonly onDone: (facts: ResponseFacts) => void;
  /** Raw data of the events seen so far, kept (bounded) to count output if the stream ends early. */
  private events: Array<{ event: string | undefined; data: string }> = [];
  private eventChars = 0;
  /** Called with each event's generated text, for a hard stop; see `watchOutput`. */
  private onOutput: ((text: string) => void) | undefined;
  /** Set when the stream is cut off: the bytes that end it, sent once. */
  private ending: string | undefined;
  private ended = false;

  constructor(api: LlmApi, contentType: string | undefined, onDone: (facts: ResponseFacts) => void) {
    super();
    this.api = api;
    this.onDone = onDone;
    const type = contentType?.trimStart().toLowerCase();
    this.isEventStream = type?.startsWith("text/event-stream") === true;
    // Account APIs (files, batches, fine-tuning) carry no usage of their own: a batch's output file
    // is full of other requests' usage objects, which must not be read as this one's.
    const readsFacts = modelApis.has(api);
    if (this.isEventStream && readsFacts) {
      this.decoder = new StringDecoder("utf8");
      this.parser = createParser({
        maxBufferSize: maxBufferedEvent,
        onEvent: (message) => {
          this.keepEvent(message.event, message.data);
          if (!eventMayCarryFacts(this.api, message.event, message.data)) return;
          try {
            foldEvent(this.api, message.event, JSON.parse(message.data), this.facts);
          } catch {
            // An event that is not JSON carries no facts; the caller still gets it unchanged.
          }
        },
        onError: (error) => {
          // Only an oversized event ends the parsing; other parse errors concern one line.
          if (error.type === "max-buffer-size-exceeded") this.parser = undefined;
        },
      });
    }
    this.isJson = (readsFacts || jobApis.has(api)) && !this.isEventStream && type?.includes("json") === true;
    if (this.isJson) this.chunks = [];
  }

  /**
   * The text generated so far, as far as the stream showed it: what the gateway counts when the
   * stream ends before the provider reported usage (the caller left, the provider cut it off).
   */
  outputText(): string {
    return this.events.map((e) => outputTextOf(this.api, e.event, e.data)).join("");
  }

  /** Whether the stream was cut off (see `cutOff`). */
  get cut(): boolean {
    return this.ending !== undefined;
  }

  /**
   * Ends the stream the caller sees now, with `ending` as its last bytes (the hard stop): what the
   * provider sends after it is dropped.
   */
  cutOff(ending: string): void {
    if (this.ending !== undefined) return;
    this.ending = ending;
  }

  /** Calls `listener` with the generated text of every event as it passes (for a hard stop). */
  watchOutput(listener: (text: string) => void): void {
    this.onOutput = listener;
  }

  private keepEvent(event: string | undefined, data: string): void {
    if (this.onOutput !== undefined) {
      const text = outputTextOf(this.api, event, data);
      if (text !== "") this.onOutput(text);
    }
    if (this.eventChars > maxKeptEvents) return;
    this.eventChars += data.length;
    this.events.push({ event, data });
  }

  /** Whether the body is a server-sent event stream. */
  get streaming(): boolean {
    return this.isEventStream;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.ended) {
      callback();
      return;
    }
    if (this.parser !== undefined && this.decoder !== undefined) {
      try {
        this.parser.feed(this.decoder.write(chunk));
      } catch {
        // A terminated parser throws: stop reading facts, never stop the stream.
        this.parser = undefined;
      }
    } else if (this.isJson) {
      this.keepJson(chunk);
    }
    if (this.ending !== undefined) {
      // Cut off while this chunk was read: send it and the ending, then end the stream.
      this.ended = true;
      this.push(chunk);
      this.push(Buffer.from(this.ending));
      this.push(null);
      this.onDone(this.facts);
      callback();
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.ended) {
      callback();
      return;
    }
    if (this.chunks !== undefined) {
      try {
        const body: unknown = JSON.parse(Buffer.concat(this.chunks).toString("utf8"));
        if (jobApis.has(this.api)) this.facts.jobs = jobsFromJson(this.api, body);
        else Object.assign(this.facts, factsFromJson(this.api, body));
      } catch {
        // Not JSON after all: nothing to read, the body was passed on as it was.
      }
      this.chunks = undefined;
    } else if (this.head !== undefined) {
      const tail = Buffer.concat(this.tail);
      Object.assign(this.facts, factsFromHeadAndTail(this.api, this.head.toString("utf8"), tail.subarray(Math.max(0, tail.length - keptEnds)).toString("utf8")));
      this.head = undefined;
      this.tail = [];
    }
    this.onDone(this.facts);
    callback();
  }

  /** Keeps a JSON body whole while it is small; past that, only its first and last bytes. */
  private keepJson(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.chunks !== undefined) {
      this.chunks.push(chunk);
      if (this.size <= maxParsedJson) return;
      const whole = Buffer.concat(this.chunks);
      this.chunks = undefined;
      // Copies, so that the megabyte kept so far can be let go.
      this.head = Buffer.from(whole.subarray(0, keptEnds));
      this.tail = [Buffer.from(whole.subarray(whole.length - keptEnds))];
      this.tailSize = keptEnds;
      return;
    }
    this.tail.push(chunk);
    this.tailSize += chunk.length;
    // Drop whole chunks from the front while what is left still covers the kept end.
    while (this.tail.length > 1 && this.tailSize - (this.tail[0] as Buffer).length >= keptEnds) {
      this.tailSize -= (this.tail.shift() as Buffer).length;
    }
  }
}

import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import type { LlmApi } from "../../config/schema.ts";
import { ResponseTap } from "./response-tap.ts";
import type { ResponseFacts } from "./usage.ts";

/** Sends `chunks` through a tap; returns the bytes that came out and the facts it handed to onDone. */
async function tap(api: LlmApi, contentType: string | undefined, chunks: Buffer[]): Promise<{ out: Buffer; facts: ResponseFacts | undefined }> {
  let facts: ResponseFacts | undefined;
  const received: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    new ResponseTap(api, contentType, (f) => {
      facts = f;
    }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    }),
  );
  return { out: Buffer.concat(received), facts };
}

/** Cuts a buffer into pieces of `size` bytes (the last one shorter), to put boundaries anywhere. */
function cut(bytes: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return pieces;
}

const anthropicStream = Buffer.from(
  [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_é","model":"claude-sonnet-4-5","usage":{"input_tokens":11,"output_tokens":1}}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Grüße, 世界 🌍"}}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
  ].join(""),
  "utf8",
);

describe("ResponseTap", () => {
  it.each([1, 2, 3, 7, 64, anthropicStream.length])("passes an SSE stream through byte for byte and reads its facts, in chunks of %i bytes", async (size) => {
    const { out, facts } = await tap("messages", "text/event-stream; charset=utf-8", cut(anthropicStream, size));
    expect(out.equals(anthropicStream)).toBe(true);
    expect(facts).toEqual({ id: "msg_é", model: "claude-sonnet-4-5", finishReasons: ["end_turn"], usage: { input: 11, output: 9 } });
  });

  it("handles CRLF line endings", async () => {
    const crlf = Buffer.from('data: {"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}\r\n\r\ndata: [DONE]\r\n\r\n');
    const { out, facts } = await tap("chat", "Text/Event-Stream", cut(crlf, 5));
    expect(out.equals(crlf)).toBe(true);
    expect(facts?.usage).toEqual({ input: 3, output: 4 });
  });

  it("reads a JSON body once at its end, whatever its chunking", async () => {
    const body = Buffer.from(JSON.stringify({ id: "chatcmpl-9", model: "gpt-4o", choices: [{ finish_reason: "stop", message: { content: "ünïcødé" } }], usage: { prompt_tokens: 5, completion_tokens: 6 } }));
    const { out, facts } = await tap("chat", "application/json", cut(body, 3));
    expect(out.equals(body)).toBe(true);
    expect(facts).toEqual({ id: "chatcmpl-9", model: "gpt-4o", finishReasons: ["stop"], usage: { input: 5, output: 6 } });
  });

  it("passes on what it cannot read, untouched and without facts", async () => {
    const broken = Buffer.from('{"id": "x", "usage": {"prompt_tok');
    expect(await tap("chat", "application/json", [broken])).toEqual({ out: broken, facts: {} });
    const events = Buffer.from('data: {"usage":{not json}}\n\n: a comment\n\nretry: x\n\n');
    expect(await tap("chat", "text/event-stream", cut(events, 4))).toEqual({ out: events, facts: {} });
    const binary = Buffer.from([0, 1, 2, 255, 254]);
    expect(await tap("files", "application/octet-stream", [binary])).toEqual({ out: binary, facts: {} });
    expect(await tap("files", undefined, [binary])).toEqual({ out: binary, facts: {} });
  });

  it("keeps passing a stream whose line never ends, without holding it all", async () => {
    const endless = Buffer.concat([Buffer.from("data: "), Buffer.alloc(6 * 1024 * 1024, "a")]);
    const tail = Buffer.from('\n\ndata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n');
    const { out, facts } = await tap("chat", "text/event-stream", [...cut(endless, 64 * 1024), tail]);
    expect(out.length).toBe(endless.length + tail.length);
    // Past the event size limit the tap stops reading facts; the bytes still all went through.
    expect(facts).toEqual({});
  });

  it("reads nothing from account APIs, whose files carry other requests' usage", async () => {
    const line = Buffer.from('{"id":"batch_req_1","custom_id":"1","response":{"status_code":200},"usage":{"prompt_tokens":99,"completion_tokens":1}}\n');
    const large = Buffer.concat(Array.from({ length: 20_000 }, () => line));
    for (const body of [line, large]) {
      const { out, facts } = await tap("files", "application/json", cut(body, 64 * 1024));
      expect(out.equals(body)).toBe(true);
      expect(facts).toEqual({});
    }
    expect((await tap("batches", "text/event-stream", [Buffer.from('data: {"usage":{"prompt_tokens":1}}\n\n')])).facts).toEqual({});
  });

  it("reports whether the body is an event stream", () => {
    expect(new ResponseTap("chat", "text/event-stream", () => {}).streaming).toBe(true);
    expect(new ResponseTap("chat", "application/json", () => {}).streaming).toBe(false);
  });
});

describe("ResponseTap on JSON bodies too large to keep", () => {
  it("reads usage and model from the end of a 40 MiB embeddings response, passing every byte on", async () => {
    const vector = JSON.stringify(Array.from({ length: 3072 }, (_, i) => (i % 7) / 7 - 0.5));
    const item = (index: number) => `{"object":"embedding","index":${index},"embedding":${vector}}`;
    const items: string[] = [];
    for (let i = 0; items.length * vector.length < 40 * 1024 * 1024; i++) items.push(item(i));
    const body = Buffer.from(`{"object":"list","data":[${items.join(",")}],"model":"text-embedding-3-large","usage":{"prompt_tokens":4242,"total_tokens":4242}}`);
    const { out, facts } = await tap("embeddings", "application/json", cut(body, 64 * 1024));
    expect(out.length).toBe(body.length);
    expect(out.equals(body)).toBe(true);
    expect(facts).toEqual({ model: "text-embedding-3-large", usage: { input: 4242, output: 0 } });
  });

  it("reads id and model from the start and usage from the end of a large chat completion", async () => {
    const content = "é\\\"usage\\\": {\\\"prompt_tokens\\\": 1} ".repeat(80_000);
    const body = Buffer.from(
      `{"id":"chatcmpl-big","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"${content}"},"finish_reason":"stop"}],` +
        `"usage":{"prompt_tokens":12,"completion_tokens":345678,"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_1"}`,
    );
    expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
    const { out, facts } = await tap("chat", "application/json", cut(body, 10_000));
    expect(out.equals(body)).toBe(true);
    expect(facts).toEqual({ id: "chatcmpl-big", model: "gpt-4o", usage: { input: 12, output: 345678, reasoning: 0 } });
  });

  it("reads a large Anthropic message's usage, cache reads counted as input", async () => {
    const body = Buffer.from(
      `{"id":"msg_big","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"${"x".repeat(3 * 1024 * 1024)}"}],` +
        `"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":10,"cache_read_input_tokens":90,"output_tokens":64000}}`,
    );
    const { facts } = await tap("messages", "application/json", cut(body, 100_000));
    expect(facts).toEqual({ id: "msg_big", model: "claude-sonnet-4-5", finishReasons: ["max_tokens"], usage: { input: 100, output: 64000, cachedInput: 90 } });
  });
});

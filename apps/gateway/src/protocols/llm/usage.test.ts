import { describe, expect, it } from "vitest";
import { eventMayCarryFacts, factsFromJson, foldEvent, type ResponseFacts } from "./usage.ts";

describe("factsFromJson", () => {
  it("reads a chat completion: usage with cached and reasoning tokens, id, model, finish reasons", () => {
    const facts = factsFromJson("chat", {
      id: "chatcmpl-1",
      model: "gpt-4o-2024-08-06",
      choices: [{ finish_reason: "stop" }, { finish_reason: "length" }],
      usage: { prompt_tokens: 120, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 12 } },
    });
    expect(facts).toEqual({
      id: "chatcmpl-1",
      model: "gpt-4o-2024-08-06",
      finishReasons: ["stop", "length"],
      usage: { input: 120, output: 30, cachedInput: 100, reasoning: 12 },
    });
  });

  it("reads a response of the Responses API", () => {
    const facts = factsFromJson("responses", {
      id: "resp_1",
      model: "gpt-4.1",
      status: "completed",
      usage: { input_tokens: 50, output_tokens: 7, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 3 } },
    });
    expect(facts).toEqual({ id: "resp_1", model: "gpt-4.1", finishReasons: ["completed"], usage: { input: 50, output: 7, cachedInput: 0, reasoning: 3 } });
  });

  it("reads embeddings, which have input tokens only", () => {
    expect(factsFromJson("embeddings", { object: "list", model: "text-embedding-3-small", usage: { prompt_tokens: 8, total_tokens: 8 } })).toEqual({
      model: "text-embedding-3-small",
      usage: { input: 8, output: 0 },
    });
  });

  it("reads an Anthropic message, counting cache reads and writes as input", () => {
    const facts = factsFromJson("messages", {
      id: "msg_1",
      model: "claude-sonnet-4-5",
      stop_reason: "end_turn",
      usage: { input_tokens: 10, cache_read_input_tokens: 200, cache_creation_input_tokens: 50, output_tokens: 25 },
    });
    expect(facts).toEqual({ id: "msg_1", model: "claude-sonnet-4-5", finishReasons: ["end_turn"], usage: { input: 260, output: 25, cachedInput: 200, cacheWriteInput: 50 } });
  });

  it("reads nothing from what is not a response object, and never throws on odd types", () => {
    expect(factsFromJson("chat", [1, 2])).toEqual({});
    expect(factsFromJson("chat", null)).toEqual({});
    expect(factsFromJson("chat", { usage: { prompt_tokens: "12" }, choices: "x", model: 5 })).toEqual({});
    expect(factsFromJson("messages", { usage: { output_tokens: 3 } })).toEqual({});
  });
});

/** Folds a stream's events in order, as the response tap does. */
function fold(api: "chat" | "responses" | "messages", events: Array<[string | undefined, unknown]>): ResponseFacts {
  const facts: ResponseFacts = {};
  for (const [event, data] of events) {
    if (eventMayCarryFacts(api, event, JSON.stringify(data))) foldEvent(api, event, data, facts);
  }
  return facts;
}

describe("facts from SSE events", () => {
  it("chat: the finish reason, then the usage chunk sent with stream_options.include_usage", () => {
    const facts = fold("chat", [
      [undefined, { id: "c1", model: "m", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] }],
      [undefined, { id: "c1", model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }],
      [undefined, { id: "c1", model: "m", choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } }],
    ]);
    expect(facts).toEqual({ id: "c1", model: "m", finishReasons: ["stop"], usage: { input: 9, output: 2 } });
  });

  it("chat: recognises servers that put spaces after colons", () => {
    expect(eventMayCarryFacts("chat", undefined, '{"choices": [{"finish_reason": "stop"}]}')).toBe(true);
    expect(eventMayCarryFacts("chat", undefined, '{"usage": {"prompt_tokens": 1}}')).toBe(true);
    expect(eventMayCarryFacts("chat", undefined, '{"choices":[{"delta":{"content":"x"},"finish_reason":null}],"usage":null}')).toBe(false);
  });

  it("responses: the completed event's usage, status as finish reason", () => {
    const facts = fold("responses", [
      ["response.created", { type: "response.created", response: { id: "r1", model: "gpt-4.1", status: "in_progress", usage: null } }],
      ["response.output_text.delta", { type: "response.output_text.delta", delta: "x" }],
      ["response.completed", { type: "response.completed", response: { id: "r1", model: "gpt-4.1", status: "completed", usage: { input_tokens: 4, output_tokens: 6 } } }],
    ]);
    expect(facts).toEqual({ id: "r1", model: "gpt-4.1", finishReasons: ["completed"], usage: { input: 4, output: 6 } });
  });

  it("messages: input from message_start, the final output count from message_delta", () => {
    const facts = fold("messages", [
      ["message_start", { type: "message_start", message: { id: "msg_1", model: "claude-haiku-4-5", usage: { input_tokens: 15, cache_read_input_tokens: 5, output_tokens: 1 } } }],
      ["content_block_delta", { type: "content_block_delta", delta: { text: "x" } }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 40 } }],
    ]);
    expect(facts).toEqual({ id: "msg_1", model: "claude-haiku-4-5", finishReasons: ["max_tokens"], usage: { input: 20, output: 40, cachedInput: 5 } });
  });

  it("embeddings and account APIs have no events to read", () => {
    expect(eventMayCarryFacts("embeddings", undefined, '{"usage":{')).toBe(false);
    expect(eventMayCarryFacts("files", "x", "{}")).toBe(false);
  });
});

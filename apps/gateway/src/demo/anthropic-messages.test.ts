import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: Anthropic;

beforeAll(async () => {
  provider = await startDemoProvider({ anthropicApiKey: "sk-ant-demo" });
  client = new Anthropic({ baseURL: provider.url, apiKey: "sk-ant-demo", maxRetries: 0 });
});

afterAll(async () => {
  await provider.close();
});

const messages = [{ role: "user" as const, content: "Which agents may call tools?" }];

describe("POST /v1/messages", () => {
  it("answers with a message and its usage", async () => {
    const message = await client.messages.create({ model: "demo-chat", max_tokens: 1024, messages });
    expect(message).toMatchObject({ type: "message", role: "assistant", model: "demo-chat", stop_reason: "end_turn" });
    expect(message.id).toMatch(/^msg_/u);
    const [block] = message.content;
    expect(block?.type === "text" ? block.text : "").toContain('you said "Which agents may call tools?"');
    expect(message.usage.input_tokens).toBeGreaterThan(5);
    expect(message.usage.output_tokens).toBeGreaterThan(20);
    expect(provider.requests.at(-1)?.headers["anthropic-version"]).toBeDefined();
  });

  it("stops at max_tokens with stop_reason max_tokens", async () => {
    const message = await client.messages.create({ model: "demo-chat", max_tokens: 4, messages });
    expect(message.stop_reason).toBe("max_tokens");
    expect(message.usage.output_tokens).toBe(4);
  });

  it("counts a system prompt given as a string or as text blocks", async () => {
    const plain = await client.messages.create({ model: "demo-chat", max_tokens: 100, messages });
    const asString = await client.messages.create({ model: "demo-chat", max_tokens: 100, messages, system: "Be brief." });
    const asBlocks = await client.messages.create({
      model: "demo-chat",
      max_tokens: 100,
      messages,
      system: [{ type: "text", text: "Be brief." }],
    });
    expect(asString.usage.input_tokens).toBeGreaterThan(plain.usage.input_tokens);
    expect(asBlocks.usage.input_tokens).toBe(asString.usage.input_tokens);
  });

  it("streams through messages.stream() to the same message as the JSON answer", async () => {
    const json = await client.messages.create({ model: "demo-chat", max_tokens: 30, messages });
    const stream = client.messages.stream({ model: "demo-chat", max_tokens: 30, messages });
    const deltas: string[] = [];
    stream.on("text", (text) => deltas.push(text));
    const final = await stream.finalMessage();
    expect(final.content).toEqual(json.content);
    expect(final.usage.input_tokens).toBe(json.usage.input_tokens);
    expect(final.usage.output_tokens).toBe(json.usage.output_tokens);
    expect(final.stop_reason).toBe(json.stop_reason);
    expect(deltas.length).toBeGreaterThan(3);
  });

  it("sends Anthropic's event sequence with event lines", async () => {
    const stream = await client.messages.create({ model: "demo-chat", max_tokens: 50, messages, stream: true });
    const types = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe("message_start");
    expect(types[1]).toBe("content_block_start");
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    expect(types.filter((type) => type === "content_block_delta").length).toBe(types.length - 5);

    const response = await fetch(`${provider.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "sk-ant-demo", "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-chat", max_tokens: 5, messages, stream: true }),
    });
    const body = await response.text();
    expect(body.startsWith("event: message_start\ndata: ")).toBe(true);
    expect(body).toContain("event: ping\ndata: ");
    expect(body.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
  });

  it("answers 400 invalid_request_error without max_tokens or messages", async () => {
    const noMaxTokens = await client.messages
      // @ts-expect-error: max_tokens is left out on purpose
      .create({ model: "demo-chat", messages })
      .catch((e: unknown) => e);
    expect(noMaxTokens).toBeInstanceOf(Anthropic.BadRequestError);
    expect(noMaxTokens).toMatchObject({ status: 400, error: { type: "error", error: { type: "invalid_request_error" } } });
    expect(noMaxTokens).toMatchObject({ error: { error: { message: "max_tokens: Field required" } } });

    const noMessages = await client.messages.create({ model: "demo-chat", max_tokens: 5, messages: [] }).catch((e: unknown) => e);
    expect(noMessages).toMatchObject({ status: 400 });
    const badRole = await client.messages
      .create({ model: "demo-chat", max_tokens: 5, messages: [{ role: "system", content: "x" }] })
      .catch((e: unknown) => e);
    expect(badRole).toMatchObject({ status: 400 });
  });

  it("counts input tokens the same way as a message does", async () => {
    const message = await client.messages.create({ model: "demo-chat", max_tokens: 5, messages, system: "Be brief." });
    const counted = await client.messages.countTokens({ model: "demo-chat", messages, system: "Be brief." });
    expect(counted.input_tokens).toBe(message.usage.input_tokens);
  });

  it("answers 404 not_found_error for a model it does not serve", async () => {
    const error = await client.messages
      .create({ model: "claude-sonnet-4-5", max_tokens: 5, messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect(error).toMatchObject({ error: { type: "error", error: { type: "not_found_error" } } });
  });
});

import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-demo-responses" });
  client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-demo-responses", maxRetries: 0 });
});

afterAll(async () => {
  await provider.close();
});

describe("POST /v1/responses", () => {
  it("answers a string input with a completed response and its usage", async () => {
    const response = await client.responses.create({ model: "demo-chat", input: "Where is the gateway?" });
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.output_text).toContain('you said "Where is the gateway?"');
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));
  });

  it("answers the last user message of an input array and counts the instructions", async () => {
    const input = [
      { role: "user" as const, content: "first" },
      { role: "assistant" as const, content: "answer" },
      { role: "user" as const, content: [{ type: "input_text" as const, text: "second" }] },
    ];
    const plain = await client.responses.create({ model: "demo-chat", input });
    const instructed = await client.responses.create({ model: "demo-chat", input, instructions: "Be brief and kind." });
    expect(plain.output_text).toContain('you said "second"');
    expect(instructed.usage?.input_tokens).toBeGreaterThan(plain.usage?.input_tokens ?? 0);
    expect(instructed.instructions).toBe("Be brief and kind.");
  });

  it("stops at max_output_tokens with an incomplete response", async () => {
    const response = await client.responses.create({ model: "demo-chat", input: "hi", max_output_tokens: 16 });
    expect(response.status).toBe("incomplete");
    expect(response.incomplete_details?.reason).toBe("max_output_tokens");
    expect(response.usage?.output_tokens).toBe(16);
  });

  it("streams typed events whose deltas and usage match the JSON answer", async () => {
    const json = await client.responses.create({ model: "demo-chat", input: "stream please" });
    const stream = await client.responses.create({ model: "demo-chat", input: "stream please", stream: true });
    const events = [];
    for await (const event of stream) events.push(event);

    const types = events.map((event) => event.type);
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(types.slice(-4)).toEqual([
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const text = events.map((event) => (event.type === "response.output_text.delta" ? event.delta : "")).join("");
    expect(text).toBe(json.output_text);
    const completed = events.at(-1);
    expect(completed?.type === "response.completed" ? completed.response.usage : undefined).toEqual(json.usage);
  });

  it("sends event lines on the wire", async () => {
    const response = await fetch(`${provider.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: "Bearer sk-demo-responses", "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-chat", input: "wire", stream: true }),
    });
    const body = await response.text();
    expect(body.startsWith("event: response.created\ndata: {")).toBe(true);
    expect(body).toContain("event: response.output_text.delta\ndata: ");
    expect(body).not.toContain("[DONE]");
  });

  it("ends a cut stream with response.incomplete", async () => {
    const stream = await client.responses.create({
      model: "demo-chat",
      input: "cut",
      max_output_tokens: 20,
      stream: true,
    });
    let last;
    for await (const event of stream) last = event;
    expect(last?.type).toBe("response.incomplete");
  });

  it("works with the SDK's stream helper", async () => {
    const stream = client.responses.stream({ model: "demo-chat", input: "helper" });
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(deltas.join(""));
    expect(final.status).toBe("completed");
  });

  it("answers 400 for missing input or a too small max_output_tokens, 404 for unknown models", async () => {
    const noInput = await client.responses
      .create({ model: "demo-chat" })
      .catch((e: unknown) => e);
    expect(noInput).toMatchObject({ status: 400, param: "input" });
    const tooSmall = await client.responses
      .create({ model: "demo-chat", input: "x", max_output_tokens: 5 })
      .catch((e: unknown) => e);
    expect(tooSmall).toMatchObject({ status: 400, param: "max_output_tokens" });
    const unknown = await client.responses.create({ model: "o9", input: "x" }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 404, code: "model_not_found" });
  });
});

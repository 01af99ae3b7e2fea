import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-demo-chat" });
  client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-demo-chat", maxRetries: 0 });
});

afterAll(async () => {
  await provider.close();
});

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "What does Tollgate do?" },
];

describe("POST /v1/chat/completions", () => {
  it("answers with a deterministic completion and its usage", async () => {
    const completion = await client.chat.completions.create({ model: "demo-chat", messages });
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-/u);
    expect(completion.model).toBe("demo-chat");
    const [choice] = completion.choices;
    expect(choice?.finish_reason).toBe("stop");
    expect(choice?.message.role).toBe("assistant");
    expect(choice?.message.content).toContain('you said "What does Tollgate do?"');
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(10);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );

    const again = await client.chat.completions.create({ model: "demo-chat", messages });
    expect(again.choices[0]?.message.content).toBe(choice?.message.content);
    expect(again.id).not.toBe(completion.id);
  });

  it("reads text parts of the last user message", async () => {
    const completion = await client.chat.completions.create({
      model: "demo-chat",
      messages: [
        { role: "user", content: "first question" },
        { role: "assistant", content: "first answer" },
        { role: "user", content: [{ type: "text", text: "second question" }] },
      ],
    });
    expect(completion.choices[0]?.message.content).toContain('you said "second question"');
  });

  it("cuts the reply at max_completion_tokens (or max_tokens) with finish_reason length", async () => {
    for (const limit of [{ max_completion_tokens: 5 }, { max_tokens: 5 }]) {
      const completion = await client.chat.completions.create({ model: "demo-chat", messages, ...limit });
      expect(completion.choices[0]?.finish_reason).toBe("length");
      expect(completion.usage?.completion_tokens).toBe(5);
    }
  });

  it("streams the same text and usage as the JSON answer, usage last with no choices", async () => {
    const json = await client.chat.completions.create({ model: "demo-chat", messages, max_tokens: 12 });
    const stream = await client.chat.completions.create({
      model: "demo-chat",
      messages,
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(json.choices[0]?.message.content);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual(json.usage);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("length");
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it("sends no usage chunk unless include_usage is set", async () => {
    const stream = await client.chat.completions.create({ model: "demo-chat", messages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.usage === undefined && chunk.choices.length === 1)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
  });

  it("ends the raw stream with data: [DONE]", async () => {
    const response = await fetch(`${provider.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-demo-chat", "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-chat", messages, stream: true }),
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/u);
    expect(await response.text()).toMatch(/\n\ndata: \[DONE\]\n\n$/u);
  });

  it("works with the SDK's stream helper", async () => {
    const stream = client.chat.completions.stream({
      model: "demo-chat",
      messages,
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toContain("Demo reply from demo-chat");
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("answers n choices and counts the tokens of all of them", async () => {
    const one = await client.chat.completions.create({ model: "demo-chat", messages });
    const three = await client.chat.completions.create({ model: "demo-chat", messages, n: 3 });
    expect(three.choices.map((choice) => choice.index)).toEqual([0, 1, 2]);
    expect(three.usage?.completion_tokens).toBe((one.usage?.completion_tokens ?? 0) * 3);

    const stream = await client.chat.completions.create({ model: "demo-chat", messages, n: 2, stream: true });
    const texts = ["", ""];
    for await (const chunk of stream) {
      for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? "";
    }
    expect(texts).toEqual([one.choices[0]?.message.content, one.choices[0]?.message.content]);
  });

  it("accepts fields it does not know", async () => {
    const completion = await client.chat.completions.create({
      model: "demo-chat",
      messages,
      temperature: 0.2,
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }],
      // @ts-expect-error: a field no SDK version knows must still be accepted
      some_future_field: { nested: true },
    });
    expect(completion.choices).toHaveLength(1);
  });

  it("answers 404 model_not_found for a model it does not serve", async () => {
    const error = await client.chat.completions.create({ model: "gpt-4o", messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: "model_not_found", param: "model", type: "invalid_request_error" });

    const embedding = await client.chat.completions.create({ model: "demo-embed", messages }).catch((e: unknown) => e);
    expect(embedding).toMatchObject({ status: 404, param: "model" });
  });

  it("answers 400 for missing or invalid fields", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ messages }, "model"],
      [{ model: "demo-chat" }, "messages"],
      [{ model: "demo-chat", messages: "hello" }, "messages"],
      [{ model: "demo-chat", messages: [] }, "messages"],
      [{ model: "demo-chat", messages: ["hello"] }, "messages[0]"],
      [{ model: "demo-chat", messages, max_tokens: 0 }, "max_tokens"],
      [{ model: "demo-chat", messages, n: 1.5 }, "n"],
      [{ model: "demo-chat", messages, stream_options: { include_usage: true } }, "stream_options"],
    ];
    for (const [body, param] of cases) {
      const response = await fetch(`${provider.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer sk-demo-chat", "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status, JSON.stringify(body)).toBe(400);
      const answer = (await response.json()) as { error: { type: string; param: string } };
      expect(answer.error).toMatchObject({ type: "invalid_request_error", param });
    }
  });
});

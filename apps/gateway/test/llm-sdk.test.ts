import { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentKey, type Harness, startHarness, upstreamKey } from "./harness/gateway-harness.ts";

/** The official SDKs, pointed at the gateway with an agent's SVID, make allowed calls end to end. */
describe("LLM path through the official SDKs", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("chat completions, JSON", async () => {
    const completion = await h.openai("customer-support").chat.completions.create({
      model: "demo-chat",
      messages: [{ role: "user", content: "Where is my parcel?" }],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.content).toContain("Where is my parcel?");
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it("chat completions, streamed, with usage in the last chunk when asked for", async () => {
    const stream = await h.openai("customer-support").chat.completions.create({
      model: "demo-chat",
      messages: [{ role: "user", content: "Stream it" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toContain("Stream it");
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const line = h.logs.findLast((l) => l.msg === "request" && l.path === "/v1/chat/completions");
    expect(line?.usage).toEqual(expect.objectContaining({ input: usage?.prompt_tokens, output: usage?.completion_tokens }));
  });

  it("responses, JSON and streamed", async () => {
    const client = h.openai("customer-support");
    const response = await client.responses.create({ model: "demo-chat", input: "Say hello" });
    expect(response.output_text).toContain("Say hello");

    const stream = await client.responses.create({ model: "demo-chat", input: "Say hello again", stream: true });
    const types: string[] = [];
    let completedUsage: number | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.completed") completedUsage = event.response.usage?.output_tokens;
    }
    expect(types[0]).toBe("response.created");
    expect(types).toContain("response.output_text.delta");
    expect(completedUsage).toBeGreaterThan(0);
  });

  it("embeddings (the SDK asks for base64)", async () => {
    const result = await h.openai("code-review").embeddings.create({ model: "demo-embed", input: ["a diff", "another diff"] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0]?.embedding.length).toBeGreaterThan(0);
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("lists only the models the caller may use", async () => {
    const support = await h.openai("customer-support").models.list();
    expect(support.data.map((m) => m.id)).toEqual(["demo-chat"]);
    const reviewer = await h.openai("code-review").models.list();
    expect(reviewer.data.map((m) => m.id).sort()).toEqual(["demo-chat", "demo-embed"]);
  });

  it("files, fine-tuning and batches for the training pipeline", async () => {
    const client = h.openai("training");
    const file = await client.files.create({
      file: await toFile(Buffer.from('{"messages":[{"role":"user","content":"hi"}]}\n'), "train.jsonl"),
      purpose: "fine-tune",
    });
    expect(file.id).toMatch(/^file-/);
    const listed = await client.files.list();
    expect(listed.data.map((f) => f.id)).toContain(file.id);
    const content = await (await client.files.content(file.id)).text();
    expect(content).toContain('"hi"');

    const job = await client.fineTuning.jobs.create({ model: "demo-chat", training_file: file.id });
    expect(job.object).toBe("fine_tuning.job");
    expect((await client.fineTuning.jobs.retrieve(job.id)).id).toBe(job.id);

    const batchFile = await client.files.create({
      file: await toFile(Buffer.from('{"custom_id":"1","method":"POST","url":"/v1/embeddings","body":{"model":"demo-embed","input":"x"}}\n'), "batch.jsonl"),
      purpose: "batch",
    });
    const batch = await client.batches.create({ input_file_id: batchFile.id, endpoint: "/v1/embeddings", completion_window: "24h" });
    expect((await client.batches.retrieve(batch.id)).id).toBe(batch.id);

    // The shipped policy lets training pipelines keep their files but not delete them.
    await expect(client.files.delete(file.id)).rejects.toMatchObject({ status: 403 });
  });

  it("Anthropic messages, JSON and streamed, through @anthropic-ai/sdk", async () => {
    const client = h.anthropic("customer-support");
    const message = await client.messages.create({
      model: "demo-chat",
      max_tokens: 200,
      messages: [{ role: "user", content: "Bonjour" }],
    });
    expect(message.type).toBe("message");
    expect(message.content[0]?.type).toBe("text");

    const stream = client.messages.stream({ model: "demo-chat", max_tokens: 200, messages: [{ role: "user", content: "Stream bonjour" }] });
    const final = await stream.finalMessage();
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    const line = h.logs.findLast((l) => l.msg === "request" && l.path === "/v1/messages");
    expect(line?.usage).toEqual(expect.objectContaining({ output: final.usage.output_tokens }));
  });

  it("sends the gateway's key upstream, never the agent's", async () => {
    const seen = h.upstreams[0]!.nextRequest({ path: "/v1/chat/completions" });
    await h.openai("customer-support").chat.completions.create({ model: "demo-chat", messages: [{ role: "user", content: "x" }] });
    const request = await seen;
    expect(request.headers.authorization).toBe(`Bearer ${upstreamKey}`);
    expect(JSON.stringify(request.headers)).not.toContain(agentKey);

    const seenMessages = h.upstreams[0]!.nextRequest({ path: "/v1/messages" });
    await h.anthropic("customer-support").messages.create({ model: "demo-chat", max_tokens: 50, messages: [{ role: "user", content: "x" }] });
    const messagesRequest = await seenMessages;
    expect(messagesRequest.headers["x-api-key"]).toBe(upstreamKey);
    expect(JSON.stringify(messagesRequest.headers)).not.toContain(agentKey);
  });
});

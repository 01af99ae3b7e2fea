import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FaultQueue } from "./demo-faults.ts";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-faults", anthropicApiKey: "sk-ant-faults" });
  openai = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-faults", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: provider.url, apiKey: "sk-ant-faults", maxRetries: 0 });
});

afterEach(() => {
  provider.faults.clear();
});

afterAll(async () => {
  await provider.close();
});

const chatPath = "/v1/chat/completions";
const chat = { model: "demo-chat", messages: [{ role: "user" as const, content: "hello" }] };
const message = { model: "demo-chat", max_tokens: 50, messages: [{ role: "user" as const, content: "hello" }] };

function rawChat(signal?: AbortSignal, stream = false): Promise<Response> {
  return fetch(`${provider.url}${chatPath}`, {
    method: "POST",
    headers: { authorization: "Bearer sk-faults", "content-type": "application/json" },
    body: JSON.stringify({ ...chat, stream }),
    signal,
  });
}

describe("status faults", () => {
  it("answer with the status and headers, in OpenAI's error shape, once", async () => {
    provider.faults.push({ status: 429, headers: { "retry-after": "0" } });
    const error = await openai.chat.completions.create(chat).catch((e: unknown) => e);
    if (!(error instanceof OpenAI.RateLimitError)) throw error;
    expect(error).toMatchObject({ status: 429, type: "requests" });
    expect(error.headers.get("retry-after")).toBe("0");
    expect(provider.requests.at(-1)?.fault).toBe("status");
    expect(await openai.chat.completions.create(chat)).toMatchObject({ object: "chat.completion" });
  });

  it("let the SDK's retry succeed on the next request", async () => {
    const retrying = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-faults", maxRetries: 2 });
    provider.faults.push({ status: 503, headers: { "retry-after": "0" }, times: 2 });
    const before = provider.requests.length;
    const completion = await retrying.chat.completions.create(chat);
    expect(completion.choices).toHaveLength(1);
    expect(provider.requests.slice(before).map((record) => record.fault)).toEqual(["status", "status", undefined]);
  });

  it("answer in Anthropic's error shape on /v1/messages", async () => {
    const expectations: [number, string][] = [
      [429, "rate_limit_error"],
      [500, "api_error"],
      [503, "overloaded_error"],
      [529, "overloaded_error"],
    ];
    for (const [status, type] of expectations) {
      provider.faults.push({ status });
      const error = await anthropic.messages.create(message).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect(error).toMatchObject({ status, error: { type: "error", error: { type } } });
    }
  });

  it("send a body of the test's own when given", async () => {
    provider.faults.push({ status: 500, body: { error: { message: "custom", type: "server_error", code: "boom" } } });
    const error = await openai.chat.completions.create(chat).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500, code: "boom" });
  });

  it("only answer the requests their path and method match", async () => {
    provider.faults.push({ status: 500, path: "/v1/embeddings" }, { status: 502, path: /^\/v1\/models/u, method: "get" });
    expect(await openai.chat.completions.create(chat)).toMatchObject({ object: "chat.completion" });
    const models = await openai.models.list().catch((e: unknown) => e);
    expect(models).toMatchObject({ status: 502 });
    const embeddings = await openai.embeddings.create({ model: "demo-embed", input: "x" }).catch((e: unknown) => e);
    expect(embeddings).toMatchObject({ status: 500 });
    expect(provider.faults.pending).toBe(0);
  });
});

describe("a reset fault", () => {
  it("cuts the connection before any byte and is not counted as a client abort", async () => {
    provider.faults.push({ kind: "reset" });
    const finished = provider.nextFinished({ path: chatPath });
    const abortedBefore = provider.aborted;
    const error = await rawChat().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    const record = await finished;
    expect(record).toMatchObject({ outcome: "reset", fault: "reset" });
    expect(provider.aborted).toBe(abortedBefore);

    provider.faults.push({ kind: "reset" });
    const sdkError = await openai.chat.completions.create(chat).catch((e: unknown) => e);
    expect(sdkError).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});

describe("a hang fault", () => {
  it("never answers, and records the client going away", async () => {
    provider.faults.push({ kind: "hang", path: chatPath });
    const controller = new AbortController();
    const arrived = provider.nextRequest({ path: chatPath });
    const aborted = provider.onceAborted({ path: chatPath });
    const abortedBefore = provider.aborted;
    const call = openai.chat.completions.create(chat, { signal: controller.signal }).catch((e: unknown) => e);
    const record = await arrived;
    expect(record.outcome).toBe("pending");
    controller.abort();
    expect(await call).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(await aborted).toBe(record);
    expect(record).toMatchObject({ outcome: "aborted", fault: "hang" });
    expect(provider.aborted).toBe(abortedBefore + 1);
  });
});

describe("a stall-stream fault", () => {
  it("sends the first events of a stream, then stalls until the client leaves", async () => {
    provider.faults.push({ kind: "stall-stream", afterChunks: 2 });
    const controller = new AbortController();
    const aborted = provider.onceAborted({ path: chatPath });
    const response = await rawChat(controller.signal, true);
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    let received = "";
    while (received.split("\n\n").length - 1 < 2) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) throw new Error("the stream ended instead of stalling");
      received += decoder.decode(chunk.value, { stream: true });
    }
    controller.abort();
    // Had the stream not stalled, it would have ended and been recorded as completed, not aborted.
    const record = await aborted;
    expect(record).toMatchObject({ outcome: "aborted", fault: "stall-stream" });
    expect(received.match(/^data: /gmu)).toHaveLength(2);
    expect(received).not.toContain("[DONE]");
  });

  it("lets the SDK read the events before the stall and abort the rest", async () => {
    provider.faults.push({ kind: "stall-stream", afterChunks: 3 });
    const aborted = provider.onceAborted({ path: "/v1/messages" });
    const stream = await anthropic.messages.create({ ...message, stream: true });
    const types = [];
    for await (const event of stream) {
      types.push(event.type);
      if (types.length === 2) break;
    }
    expect(types).toEqual(["message_start", "content_block_start"]);
    expect(await aborted).toMatchObject({ outcome: "aborted", fault: "stall-stream" });
  });

  it("sends only the headers of a JSON answer", async () => {
    provider.faults.push({ kind: "stall-stream", afterChunks: 5 });
    const controller = new AbortController();
    const aborted = provider.onceAborted({ path: chatPath });
    const response = await rawChat(controller.signal);
    expect(response.status).toBe(200);
    expect(Number(response.headers.get("content-length"))).toBeGreaterThan(0);
    controller.abort();
    expect(await aborted).toMatchObject({ outcome: "aborted", fault: "stall-stream" });
  });
});

describe("a gate fault", () => {
  it("holds the request until the test releases it, while other requests go through", async () => {
    const gate = Promise.withResolvers<void>();
    provider.faults.push({ kind: "gate", release: gate.promise, path: chatPath });
    const arrived = provider.nextRequest({ path: chatPath });
    let settled = false;
    const held = openai.chat.completions.create(chat).finally(() => {
      settled = true;
    });
    await arrived;
    expect(await openai.models.retrieve("demo-chat")).toMatchObject({ id: "demo-chat" });
    expect(settled).toBe(false);
    gate.resolve();
    expect(await held).toMatchObject({ object: "chat.completion" });
    expect(provider.requests.find((record) => record.fault === "gate")?.outcome).toBe("completed");
  });

  it("records the client leaving while the request is held", async () => {
    const gate = Promise.withResolvers<void>();
    provider.faults.push({ kind: "gate", release: gate.promise, path: chatPath });
    const controller = new AbortController();
    const arrived = provider.nextRequest({ path: chatPath });
    const aborted = provider.onceAborted({ path: chatPath });
    const call = rawChat(controller.signal).catch((e: unknown) => e);
    await arrived;
    controller.abort();
    expect(await aborted).toMatchObject({ outcome: "aborted", fault: "gate" });
    expect(await call).toBeInstanceOf(DOMException);
    gate.resolve();
  });
});

describe("FaultQueue", () => {
  it("rejects faults a test got wrong", () => {
    const queue = new FaultQueue();
    expect(() => queue.push({ status: 99 })).toThrow(TypeError);
    expect(() => queue.push({ status: 500, times: 0 })).toThrow(TypeError);
    expect(() => queue.push({ kind: "stall-stream", afterChunks: -1 })).toThrow(TypeError);
    expect(queue.pending).toBe(0);
  });

  it("hands out faults in order, each as many times as asked", () => {
    const queue = new FaultQueue();
    queue.push({ status: 500, times: 2 }, { kind: "reset" });
    expect(queue.take("POST", "/v1/x")).toMatchObject({ status: 500 });
    expect(queue.take("POST", "/v1/x")).toMatchObject({ status: 500 });
    expect(queue.take("POST", "/v1/x")).toMatchObject({ kind: "reset" });
    expect(queue.take("POST", "/v1/x")).toBeUndefined();
  });
});

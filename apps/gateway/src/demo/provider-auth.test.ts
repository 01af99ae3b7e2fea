import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoProvider, type DemoProvider } from "./demo-provider.ts";

let provider: DemoProvider;
let anyKeyProvider: DemoProvider;

beforeAll(async () => {
  provider = await startDemoProvider({ apiKey: "sk-openai-right-key", anthropicApiKey: "sk-ant-right-key" });
  anyKeyProvider = await startDemoProvider();
});

afterAll(async () => {
  await Promise.all([provider.close(), anyKeyProvider.close()]);
});

const chat = { model: "demo-chat", messages: [{ role: "user", content: "hi" }] };
const message = { model: "demo-chat", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

describe("OpenAI authentication", () => {
  it("lets the right bearer key through and records it", async () => {
    const client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-openai-right-key", maxRetries: 0 });
    const arrived = provider.nextRequest({ path: "/v1/models" });
    await client.models.list();
    expect((await arrived).headers.authorization).toBe("Bearer sk-openai-right-key");
  });

  it("answers 401 invalid_api_key to a wrong key without echoing it", async () => {
    const client = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-openai-wrong-key-1234", maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: "demo-chat", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key", type: "invalid_request_error" });
    expect(String((error as Error).message)).not.toContain("sk-openai-wrong-key-1234");
    expect(String((error as Error).message)).toContain("1234");
  });

  it("answers 401 when no key is sent, even when any key is accepted", async () => {
    for (const target of [provider, anyKeyProvider]) {
      const response = await post(`${target.url}/v1/chat/completions`, {}, chat);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_api_key", type: "invalid_request_error" } });
    }
    const notBearer = await post(`${provider.url}/v1/chat/completions`, { authorization: "Basic abc" }, chat);
    expect(notBearer.status).toBe(401);
  });

  it("accepts any key when none is configured", async () => {
    const response = await post(`${anyKeyProvider.url}/v1/chat/completions`, { authorization: "Bearer whatever" }, chat);
    expect(response.status).toBe(200);
  });
});

describe("Anthropic authentication", () => {
  const version = { "anthropic-version": "2023-06-01" };

  it("lets the right key through as x-api-key or as a bearer token", async () => {
    const withApiKey = await post(`${provider.url}/v1/messages`, { ...version, "x-api-key": "sk-ant-right-key" }, message);
    expect(withApiKey.status).toBe(200);
    const withBearer = await post(`${provider.url}/v1/messages`, { ...version, authorization: "Bearer sk-ant-right-key" }, message);
    expect(withBearer.status).toBe(200);

    const client = new Anthropic({ baseURL: provider.url, apiKey: "sk-ant-right-key", maxRetries: 0 });
    const arrived = provider.nextRequest({ path: "/v1/messages" });
    await client.messages.create({ model: "demo-chat", max_tokens: 10, messages: [{ role: "user", content: "hi" }] });
    const record = await arrived;
    expect(record.headers.authorization ?? record.headers["x-api-key"]).toContain("sk-ant-right-key");
    expect(record.family).toBe("anthropic");
  });

  it("answers 401 authentication_error to a wrong or missing key, with the request id", async () => {
    const wrong = await post(`${provider.url}/v1/messages`, { ...version, "x-api-key": "sk-ant-wrong" }, message);
    expect(wrong.status).toBe(401);
    const body = (await wrong.json()) as { request_id: string };
    expect(body).toMatchObject({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } });
    expect(body.request_id).toBe(wrong.headers.get("request-id"));

    const missing = await post(`${anyKeyProvider.url}/v1/messages`, version, message);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { type: "authentication_error", message: "x-api-key header is required" } });

    const client = new Anthropic({ baseURL: provider.url, apiKey: "sk-ant-wrong", maxRetries: 0 });
    const error = await client.messages
      .create({ model: "demo-chat", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it("answers 400 invalid_request_error without an anthropic-version header", async () => {
    const response = await post(`${provider.url}/v1/messages`, { "x-api-key": "sk-ant-right-key" }, message);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: "anthropic-version: header is required" },
    });
  });

  it("does not take OpenAI's key for Anthropic's or the other way round", async () => {
    const anthropicWithOpenAiKey = await post(
      `${provider.url}/v1/messages`,
      { ...version, authorization: "Bearer sk-openai-right-key" },
      message,
    );
    expect(anthropicWithOpenAiKey.status).toBe(401);
    const openAiWithAnthropicKey = await post(
      `${provider.url}/v1/chat/completions`,
      { authorization: "Bearer sk-ant-right-key" },
      chat,
    );
    expect(openAiWithAnthropicKey.status).toBe(401);
  });

  it("does not spend a queued fault on a request that fails authentication", async () => {
    provider.faults.push({ status: 503, path: "/v1/chat/completions" });
    const unauthenticated = await post(`${provider.url}/v1/chat/completions`, {}, chat);
    expect(unauthenticated.status).toBe(401);
    expect(provider.faults.pending).toBe(1);
    const faulted = await post(`${provider.url}/v1/chat/completions`, { authorization: "Bearer sk-openai-right-key" }, chat);
    expect(faulted.status).toBe(503);
    expect(provider.faults.pending).toBe(0);
  });
});

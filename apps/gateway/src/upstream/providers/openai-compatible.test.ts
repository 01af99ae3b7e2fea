import { describe, expect, it } from "vitest";
import { createProvider } from "./create-provider.ts";
import { openaiProvider } from "./openai.ts";
import { providerConfig } from "./provider-test-config.ts";
import { openaiCompatibleProvider } from "./openai-compatible.ts";

describe("openaiCompatibleProvider", () => {
  const config = providerConfig({ type: "openai-compatible", base_url: "http://vllm.internal:8000/v1", api_key: "local-key-123456", apis: ["chat", "messages"] });
  const provider = openaiCompatibleProvider("vllm", config);

  it("sends OpenAI's APIs below the base URL with a bearer key", () => {
    expect(provider.target({ api: "chat", subpath: "/chat/completions", search: "", model: "llama" })).toEqual({
      origin: "http://vllm.internal:8000",
      path: "/v1/chat/completions",
      headers: { authorization: "Bearer local-key-123456" },
    });
  });

  it("sends Anthropic's Messages API at the same base URL, with the key where either kind of server looks", () => {
    expect(provider.target({ api: "messages", subpath: "/messages", search: "", model: "llama" })).toEqual({
      origin: "http://vllm.internal:8000",
      path: "/v1/messages",
      headers: { authorization: "Bearer local-key-123456", "x-api-key": "local-key-123456", "anthropic-version": "2023-06-01" },
    });
  });

  it("serves what `apis` says, chat, embeddings and models by default", () => {
    expect(provider.serves("messages")).toBe(true);
    expect(provider.serves("embeddings")).toBe(false);
    const defaults = openaiCompatibleProvider("ollama", providerConfig({ type: "openai-compatible", base_url: "http://ollama:11434/v1" }));
    expect(["chat", "embeddings", "models"].every((api) => defaults.serves(api as never))).toBe(true);
    expect(defaults.serves("files")).toBe(false);
    expect(defaults.target({ api: "chat", subpath: "/chat/completions", search: "", model: "m" }).headers).toEqual({});
  });

  it("scrubs the internal base URL, host and key", () => {
    expect(provider.scrubber.scrub('{"error":"connect to http://vllm.internal:8000/v1 failed (vllm.internal:8000), key local-key-123456"}')).toBe(
      '{"error":"connect to [redacted] failed ([redacted]), key [redacted]"}',
    );
  });

  it("is what createProvider builds for its type, as each other type is", () => {
    expect(createProvider("vllm", config).type).toBe("openai-compatible");
    expect(createProvider("openai", providerConfig({ type: "openai" })).type).toBe(openaiProvider("x", providerConfig({ type: "openai" })).type);
    expect(createProvider("claude", providerConfig({ type: "anthropic" })).genAiName).toBe("anthropic");
    expect(createProvider("azure", providerConfig({ type: "azure-openai", base_url: "https://r.openai.azure.com" })).genAiName).toBe("azure.ai.openai");
  });
});

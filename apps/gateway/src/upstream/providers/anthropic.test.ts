import { describe, expect, it } from "vitest";
import { anthropicProvider } from "./anthropic.ts";
import { providerConfig } from "./provider-test-config.ts";

describe("anthropicProvider", () => {
  const provider = anthropicProvider("anthropic", providerConfig({ type: "anthropic", api_key: "sk-ant-api03-secret" }));

  it("sends the Messages API natively with x-api-key and a default anthropic-version", () => {
    const target = provider.target({ api: "messages", subpath: "/messages", search: "", model: "claude-sonnet-4-5" });
    expect(target).toEqual({
      origin: "https://api.anthropic.com",
      path: "/v1/messages",
      headers: { "x-api-key": "sk-ant-api03-secret", "anthropic-version": "2023-06-01" },
    });
  });

  it("sends chat completions to Anthropic's OpenAI-compatible endpoint with a bearer key", () => {
    const target = provider.target({ api: "chat", subpath: "/chat/completions", search: "", model: "claude-haiku-4-5" });
    expect(target).toEqual({ origin: "https://api.anthropic.com", path: "/v1/chat/completions", headers: { authorization: "Bearer sk-ant-api03-secret" } });
  });

  it("serves messages and chat, not embeddings or account APIs", () => {
    expect(provider.serves("messages")).toBe(true);
    expect(provider.serves("chat")).toBe(true);
    expect(provider.serves("embeddings")).toBe(false);
    expect(provider.serves("files")).toBe(false);
  });

  it("scrubs a private base URL (a proxy in front of Anthropic) along with the key", () => {
    const proxied = anthropicProvider("claude", providerConfig({ type: "anthropic", base_url: "http://claude-egress.corp:9000/v1", api_key: "sk-ant-api03-secret-key" }));
    expect(proxied.target({ api: "messages", subpath: "/messages", search: "", model: "m" }).origin).toBe("http://claude-egress.corp:9000");
    expect(proxied.scrubber.scrub("upstream http://claude-egress.corp:9000/v1/messages rejected sk-ant-api03-secret-key")).toBe(
      "upstream [redacted]/messages rejected [redacted]",
    );
  });
});

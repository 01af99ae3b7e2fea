import { describe, expect, it } from "vitest";
import { openaiProvider } from "./openai.ts";
import { providerConfig } from "./provider-test-config.ts";

describe("openaiProvider", () => {
  it("addresses api.openai.com with the bearer key, organization and project", () => {
    const provider = openaiProvider("openai", providerConfig({ type: "openai", api_key: "sk-proj-abc", organization: "org-1", project: "proj-1" }));
    const target = provider.target({ api: "chat", subpath: "/chat/completions", search: "", model: "gpt-4o" });
    expect(target).toEqual({
      origin: "https://api.openai.com",
      path: "/v1/chat/completions",
      headers: { authorization: "Bearer sk-proj-abc", "openai-organization": "org-1", "openai-project": "proj-1" },
    });
  });

  it("keeps the caller's query string and a custom base URL's prefix", () => {
    const provider = openaiProvider("proxy", providerConfig({ type: "openai", base_url: "https://egress.internal:8443/openai/v1/", api_key: "k" }));
    const target = provider.target({ api: "files", subpath: "/files", search: "?limit=2&purpose=batch", model: undefined });
    expect(target.origin).toBe("https://egress.internal:8443");
    expect(target.path).toBe("/openai/v1/files?limit=2&purpose=batch");
  });

  it("serves every OpenAI API by default, or only the configured ones", () => {
    const all = openaiProvider("openai", providerConfig({ type: "openai", api_key: "k" }));
    expect(["chat", "responses", "embeddings", "files", "fine_tuning", "batches"].every((api) => all.serves(api as never))).toBe(true);
    expect(all.serves("messages")).toBe(false);
    const some = openaiProvider("openai", providerConfig({ type: "openai", api_key: "k", apis: ["embeddings"] }));
    expect(some.serves("chat")).toBe(false);
    expect(some.serves("embeddings")).toBe(true);
  });

  it("sends configured extra headers, and nothing when no key is configured", () => {
    const provider = openaiProvider("openai", providerConfig({ type: "openai", headers: { "x-tenant": "blue" } }));
    expect(provider.target({ api: "chat", subpath: "/chat/completions", search: "", model: "m" }).headers).toEqual({ "x-tenant": "blue" });
  });

  it("scrubs its key but not the public host from error texts", () => {
    const provider = openaiProvider("openai", providerConfig({ type: "openai", api_key: "sk-proj-0123456789abcdefXYZ" }));
    expect(provider.scrubber.scrub("key sk-proj-0123456789abcdefXYZ at https://api.openai.com/v1")).toBe("key [redacted] at https://api.openai.com/v1");
  });
});

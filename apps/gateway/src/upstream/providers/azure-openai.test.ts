import { describe, expect, it } from "vitest";
import { azureOpenaiProvider } from "./azure-openai.ts";
import { providerConfig } from "./provider-test-config.ts";

const azureKey = "0123456789abcdef0123456789abcdef";

describe("azureOpenaiProvider", () => {
  describe("with api_version: the dated, per-deployment API", () => {
    const provider = azureOpenaiProvider(
      "azure",
      providerConfig({ type: "azure-openai", base_url: "https://my-resource.openai.azure.com", api_key: azureKey, api_version: "2024-10-21" }),
    );

    it("addresses chat and embeddings per deployment, keyed with api-key", () => {
      expect(provider.target({ api: "chat", subpath: "/chat/completions", search: "", model: "gpt-4o-prod" })).toEqual({
        origin: "https://my-resource.openai.azure.com",
        path: "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21",
        headers: { "api-key": azureKey },
      });
      expect(provider.target({ api: "embeddings", subpath: "/embeddings", search: "", model: "embed/large" }).path).toBe(
        "/openai/deployments/embed%2Flarge/embeddings?api-version=2024-10-21",
      );
    });

    it("addresses the resource-level APIs at the root, keeping the caller's query and forcing the api-version", () => {
      expect(provider.target({ api: "responses", subpath: "/responses", search: "", model: "gpt-4o-prod" }).path).toBe(
        "/openai/responses?api-version=2024-10-21",
      );
      expect(provider.target({ api: "files", subpath: "/files", search: "?purpose=batch&api-version=1999-01-01", model: undefined }).path).toBe(
        "/openai/files?purpose=batch&api-version=2024-10-21",
      );
      expect(provider.target({ api: "batches", subpath: "/batches/batch_1/cancel", search: "", model: undefined }).path).toBe(
        "/openai/batches/batch_1/cancel?api-version=2024-10-21",
      );
    });
  });

  describe("without api_version: the v1 API", () => {
    const provider = azureOpenaiProvider("azure", providerConfig({ type: "azure-openai", base_url: "https://my-resource.openai.azure.com/", api_key: azureKey }));

    it("puts every API under /openai/v1 with the model in the body", () => {
      expect(provider.target({ api: "chat", subpath: "/chat/completions", search: "", model: "gpt-4o-prod" })).toEqual({
        origin: "https://my-resource.openai.azure.com",
        path: "/openai/v1/chat/completions",
        headers: { "api-key": azureKey },
      });
      expect(provider.target({ api: "fine_tuning", subpath: "/fine_tuning/jobs", search: "?limit=5", model: undefined }).path).toBe(
        "/openai/v1/fine_tuning/jobs?limit=5",
      );
    });

    it("does not serve Anthropic's Messages API, and scrubs the resource's host and key", () => {
      expect(provider.serves("messages")).toBe(false);
      expect(provider.scrubber.scrub(`Access denied for https://my-resource.openai.azure.com/openai with key ${azureKey}`)).toBe(
        "Access denied for [redacted]/openai with key [redacted]",
      );
    });
  });
});

import type { LlmApi, ProviderConfig } from "../../config/schema.ts";
import { type Provider, providerScrubber, splitBaseUrl } from "../provider.ts";

const openaiApis: readonly LlmApi[] = ["chat", "responses", "embeddings", "models", "files", "fine_tuning", "batches"];

/** OpenAI's own API: bearer key, optional organization and project headers. */
export function openaiProvider(name: string, config: ProviderConfig): Provider {
  const baseUrl = config.base_url ?? "https://api.openai.com/v1";
  const { origin, prefix } = splitBaseUrl(baseUrl);
  const apis = new Set(config.apis ?? openaiApis);
  const headers: Record<string, string> = { ...config.headers };
  if (config.api_key) headers.authorization = `Bearer ${config.api_key}`;
  if (config.organization) headers["openai-organization"] = config.organization;
  if (config.project) headers["openai-project"] = config.project;
  return {
    name,
    type: "openai",
    genAiName: "openai",
    serves: (api) => apis.has(api),
    target: ({ subpath, search }) => ({ origin, path: `${prefix}${subpath}${search}`, headers }),
    scrubber: providerScrubber(config.api_key, baseUrl, ["api.openai.com"]),
  };
}

import type { LlmApi, ProviderConfig } from "../../config/schema.ts";
import { type Provider, providerScrubber, splitBaseUrl } from "../provider.ts";

const anthropicApis: readonly LlmApi[] = ["messages", "chat", "models"];

/**
 * Anthropic: the native Messages API with `x-api-key` and `anthropic-version`, and its OpenAI SDK
 * compatibility endpoint (`/v1/chat/completions`, bearer key) so OpenAI-speaking agents can use Claude.
 * A caller's own `anthropic-version` / `anthropic-beta` headers are passed on by the protocol module
 * and take precedence over the default version here.
 */
export function anthropicProvider(name: string, config: ProviderConfig): Provider {
  const baseUrl = config.base_url ?? "https://api.anthropic.com/v1";
  const { origin, prefix } = splitBaseUrl(baseUrl);
  const apis = new Set(config.apis ?? anthropicApis);
  const native: Record<string, string> = { ...config.headers, "anthropic-version": "2023-06-01" };
  const compat: Record<string, string> = { ...config.headers };
  if (config.api_key) {
    native["x-api-key"] = config.api_key;
    compat.authorization = `Bearer ${config.api_key}`;
  }
  return {
    name,
    type: "anthropic",
    genAiName: "anthropic",
    serves: (api) => apis.has(api),
    target: ({ api, subpath, search }) => ({
      origin,
      path: `${prefix}${subpath}${search}`,
      headers: api === "chat" ? compat : native,
    }),
    scrubber: providerScrubber(config.api_key, baseUrl, ["api.anthropic.com"]),
  };
}

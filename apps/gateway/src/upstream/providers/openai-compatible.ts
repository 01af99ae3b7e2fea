import type { LlmApi, ProviderConfig } from "../../config/schema.ts";
import { type Provider, providerScrubber, splitBaseUrl } from "../provider.ts";

const defaultApis: readonly LlmApi[] = ["chat", "embeddings", "models"];

/**
 * Any server that speaks OpenAI's API at a base URL: vLLM, Ollama, LiteLLM, llama.cpp, TGI, the
 * gateway's own demo provider. What each serves differs, so `apis` says which client APIs to send it
 * (some, like vLLM and Ollama, also speak Anthropic's Messages API at the same base URL).
 */
export function openaiCompatibleProvider(name: string, config: ProviderConfig): Provider {
  const baseUrl = config.base_url as string;
  const { origin, prefix } = splitBaseUrl(baseUrl);
  const apis = new Set(config.apis ?? defaultApis);
  const bearer: Record<string, string> = { ...config.headers };
  const messages: Record<string, string> = { ...config.headers, "anthropic-version": "2023-06-01" };
  if (config.api_key) {
    bearer.authorization = `Bearer ${config.api_key}`;
    // Servers that speak Messages beside OpenAI's API differ on where they look for the key (vLLM reads
    // the bearer token, Anthropic-style proxies x-api-key): the gateway's own key goes in both.
    messages["x-api-key"] = config.api_key;
    messages.authorization = `Bearer ${config.api_key}`;
  }
  return {
    name,
    type: "openai-compatible",
    genAiName: "openai",
    serves: (api) => apis.has(api),
    target: ({ api, subpath, search }) => ({
      origin,
      path: `${prefix}${subpath}${search}`,
      headers: api === "messages" ? messages : bearer,
    }),
    scrubber: providerScrubber(config.api_key, baseUrl, []),
  };
}

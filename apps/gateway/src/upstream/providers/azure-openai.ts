import type { LlmApi, ProviderConfig } from "../../config/schema.ts";
import { type Provider, providerScrubber, splitBaseUrl } from "../provider.ts";

const azureApis: readonly LlmApi[] = ["chat", "responses", "embeddings", "files", "fine_tuning", "batches"];

/** APIs addressed per deployment in Azure's dated API; the others live at the resource's root. */
const perDeployment = new Set<LlmApi>(["chat", "embeddings"]);

/**
 * Azure OpenAI, keyed with `api-key`. With `api_version`, requests use the dated API
 * (`/openai/deployments/{deployment}/chat/completions?api-version=...`, the deployment being the
 * configured model name); without it, Azure's v1 API (`/openai/v1/...`, the model in the body).
 * `base_url` is the resource endpoint, e.g. https://my-resource.openai.azure.com.
 */
export function azureOpenaiProvider(name: string, config: ProviderConfig): Provider {
  const baseUrl = config.base_url as string;
  const { origin, prefix } = splitBaseUrl(baseUrl);
  const apis = new Set(config.apis ?? azureApis);
  const headers: Record<string, string> = { ...config.headers };
  if (config.api_key) headers["api-key"] = config.api_key;
  const version = config.api_version;
  return {
    name,
    type: "azure-openai",
    genAiName: "azure.ai.openai",
    serves: (api) => apis.has(api),
    target: ({ api, subpath, search, model }) => {
      if (version === undefined) return { origin, path: `${prefix}/openai/v1${subpath}${search}`, headers };
      const query = new URLSearchParams(search);
      query.set("api-version", version);
      const base = perDeployment.has(api) && model !== undefined
        ? `${prefix}/openai/deployments/${encodeURIComponent(model)}`
        : `${prefix}/openai`;
      return { origin, path: `${base}${subpath}?${query.toString()}`, headers };
    },
    scrubber: providerScrubber(config.api_key, baseUrl, []),
  };
}

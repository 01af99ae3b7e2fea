import type { ProviderConfig } from "../../config/schema.ts";
import { assertNever } from "../../gate/resource.ts";
import type { Provider } from "../provider.ts";
import { anthropicProvider } from "./anthropic.ts";
import { azureOpenaiProvider } from "./azure-openai.ts";
import { openaiProvider } from "./openai.ts";
import { openaiCompatibleProvider } from "./openai-compatible.ts";

/** Builds the provider of a configured type. */
export function createProvider(name: string, config: ProviderConfig): Provider {
  switch (config.type) {
    case "openai":
      return openaiProvider(name, config);
    case "azure-openai":
      return azureOpenaiProvider(name, config);
    case "anthropic":
      return anthropicProvider(name, config);
    case "openai-compatible":
      return openaiCompatibleProvider(name, config);
    default:
      return assertNever(config.type);
  }
}

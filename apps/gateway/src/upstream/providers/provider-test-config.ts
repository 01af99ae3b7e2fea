import { configSchema, type ProviderConfig } from "../../config/schema.ts";

/** For tests: a provider's configuration with the schema's defaults filled in, as the gateway gets it. */
export function providerConfig(input: Record<string, unknown>): ProviderConfig {
  const config = configSchema.parse({ policy: { dir: "/nonexistent" }, llm: { providers: { p: input } } });
  return config.llm.providers.p as ProviderConfig;
}

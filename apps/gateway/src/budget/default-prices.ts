import type { PriceInput } from "./pricing.ts";

/**
 * List prices in USD per million tokens for the models the embedded configuration routes, as the
 * providers publish them. Operators override or add prices under `pricing:` in the configuration
 * (negotiated rates, other models, Azure deployments); a price change takes effect for requests made
 * after it, and each cost records which price it used.
 */
export const defaultPrices: Readonly<Record<string, PriceInput>> = {
  "gpt-4o": { input: "2.50", cached_input: "1.25", output: "10.00" },
  "gpt-4o-mini": { input: "0.15", cached_input: "0.075", output: "0.60" },
  "gpt-4.1": { input: "2.00", cached_input: "0.50", output: "8.00" },
  "gpt-4.1-mini": { input: "0.40", cached_input: "0.10", output: "1.60" },
  "text-embedding-3-small": { input: "0.02", output: "0" },
  "text-embedding-3-large": { input: "0.13", output: "0" },
  "claude-sonnet-4-5": { input: "3.00", cached_input: "0.30", cache_write_input: "3.75", output: "15.00" },
  "claude-haiku-4-5": { input: "1.00", cached_input: "0.10", cache_write_input: "1.25", output: "5.00" },
  // The local demo provider: priced like a small model, so budgets and spend reports have real numbers.
  "demo-chat": { input: "0.50", cached_input: "0.05", output: "1.50" },
  "demo-embed": { input: "0.02", output: "0" },
};

import { createHash } from "node:crypto";
import type { RequestCost, TokenUsage } from "../gate/exchange.ts";

/**
 * Token prices and what a request costs. Money is integer micro-dollars (1 USD = 1,000,000 µ$)
 * everywhere; prices are integer micro-dollars per million tokens, parsed from decimal text without
 * ever passing through a float, and costs are computed in BigInt, rounded up once per request.
 */
export interface Price {
  /** µ$ per million input tokens not served from a cache. */
  input: number;
  /** µ$ per million output tokens (reasoning included). */
  output: number;
  /** µ$ per million input tokens read from the provider's prompt cache; defaults to `input`. */
  cachedInput: number;
  /** µ$ per million input tokens written to the prompt cache (Anthropic); defaults to `input`. */
  cacheWriteInput: number;
}

export interface PricedModel {
  price: Price;
  /** Identifies the price in force (model and a digest of the numbers), recorded with each cost. */
  id: string;
}

/** A price as configured: USD per million tokens, as a number or decimal text ("0.15", "$2.50"). */
export interface PriceInput {
  input: number | string;
  output: number | string;
  cached_input?: number | string | undefined;
  cache_write_input?: number | string | undefined;
}

const million = 1_000_000n;

/** Parses a USD amount written in decimal into integer micro-dollars, exactly (at most 6 decimals). */
export function parseUsdToMicros(value: number | string): number {
  const text = (typeof value === "number" ? numberText(value) : value).trim().replace(/^\$/, "");
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (match === null) throw new Error(`"${String(value)}" is not an amount of USD with at most 6 decimals (e.g. 0.15 or "$2.50")`);
  const whole = BigInt(match[1] as string);
  const fraction = BigInt((match[2] ?? "").padEnd(6, "0"));
  const micros = whole * million + fraction;
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`"${String(value)}" is too large`);
  return Number(micros);
}

/** A number's plain decimal text (no exponent), as YAML wrote it. */
function numberText(value: number): string {
  if (!Number.isFinite(value) || value < 0) return String(value);
  const text = String(value);
  return text.includes("e") ? value.toFixed(6).replace(/\.?0+$/, "") : text;
}

export function parsePrice(model: string, input: PriceInput): PricedModel {
  const inputMicros = parseUsdToMicros(input.input);
  const price: Price = {
    input: inputMicros,
    output: parseUsdToMicros(input.output),
    cachedInput: input.cached_input === undefined ? inputMicros : parseUsdToMicros(input.cached_input),
    cacheWriteInput: input.cache_write_input === undefined ? inputMicros : parseUsdToMicros(input.cache_write_input),
  };
  const digest = createHash("sha256")
    .update(`${price.input}/${price.output}/${price.cachedInput}/${price.cacheWriteInput}`)
    .digest("hex")
    .slice(0, 8);
  return { price, id: `${model}@${digest}` };
}

/**
 * µ$ for a request's usage at a price: input not read from or written to a cache at the input price,
 * cache reads and writes at theirs, output at the output price; the sum rounded up to a whole µ$.
 */
export function costOf(usage: TokenUsage, priced: PricedModel): RequestCost {
  const { price } = priced;
  const cached = BigInt(usage.cachedInput ?? 0);
  const written = BigInt(usage.cacheWriteInput ?? 0);
  const plain = BigInt(Math.max(0, usage.input - (usage.cachedInput ?? 0) - (usage.cacheWriteInput ?? 0)));
  const total =
    plain * BigInt(price.input) +
    cached * BigInt(price.cachedInput) +
    written * BigInt(price.cacheWriteInput) +
    BigInt(usage.output) * BigInt(price.output);
  return { microUsd: Number((total + million - 1n) / million), priceId: priced.id };
}

/** The price list: configured prices over the defaults, looked up by model name. */
export class PriceList {
  private readonly prices = new Map<string, PricedModel>();

  constructor(defaults: Readonly<Record<string, PriceInput>>, overrides: Readonly<Record<string, PriceInput>> = {}) {
    for (const [model, input] of Object.entries({ ...defaults, ...overrides })) this.prices.set(model, parsePrice(model, input));
  }

  /** The price of a model, or undefined when none is known. */
  get(model: string): PricedModel | undefined {
    return this.prices.get(model);
  }

  models(): string[] {
    return [...this.prices.keys()];
  }
}

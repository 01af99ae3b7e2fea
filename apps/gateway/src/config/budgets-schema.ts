/**
 * The `budgets:` and `pricing:` sections of the configuration: token and cost budgets, rate limits,
 * the store that holds their counters, and token prices.
 */
import { z } from "zod";
import { parseUsdToMicros } from "../budget/pricing.ts";
import { duration } from "./schema-types.ts";

const usd = z
  .union([z.string(), z.number().nonnegative()])
  .transform((value, ctx) => {
    try {
      return parseUsdToMicros(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .meta({ "x-tollgate-type": "usd" });

const count = z.number().int().positive();

export const priceSchema = z.strictObject({
  input: z.union([z.string(), z.number().nonnegative()]).describe("USD per million input tokens, e.g. 0.15"),
  output: z.union([z.string(), z.number().nonnegative()]).describe("USD per million output tokens"),
  cached_input: z.union([z.string(), z.number().nonnegative()]).optional().describe("USD per million input tokens read from the prompt cache (default: input)"),
  cache_write_input: z.union([z.string(), z.number().nonnegative()]).optional().describe("USD per million input tokens written to the prompt cache (default: input)"),
});

export const budgetWindows = ["minute", "hour", "day", "month"] as const;
export type BudgetWindow = (typeof budgetWindows)[number];

/** What a budget limits in one window; every limit given must hold. */
export const budgetLimitsSchema = z.strictObject({
  cost_usd: usd.optional().describe("Spend in USD per window (kept as integer micro-dollars), e.g. \"500.00\"."),
  input_tokens: count.optional().describe("Input tokens per window."),
  output_tokens: count.optional().describe("Output tokens per window."),
  total_tokens: count.optional().describe("Input plus output tokens per window."),
  requests: count.optional().describe("Requests per window."),
});

export const rateLimitsSchema = z.strictObject({
  requests_per_minute: count.optional().describe("Requests in any 60-second sliding window (RPM)."),
  tokens_per_minute: count.optional().describe("Input plus output tokens in any 60-second sliding window (TPM)."),
});

export const budgetSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, dot, dash or underscore, at most 64").describe("Unique name, shown in errors, headers and reports."),
    match: z
      .strictObject({
        agents: z.array(z.string().min(1)).optional().describe("SPIFFE IDs or patterns (spiffe://td/a/*, spiffe://td/**); any caller when omitted."),
        models: z.array(z.string().min(1)).optional().describe("Model names or globs (gpt-4o*); any model when omitted."),
        providers: z.array(z.string().min(1)).optional().describe("Provider names (under llm.providers); any when omitted."),
      })
      .default({})
      .describe("Which requests the budget applies to."),
    split: z.enum(["per_agent", "shared"]).default("per_agent").describe("per_agent: one counter per calling SPIFFE ID; shared: one counter for every matching caller (a team or a trust domain)."),
    on_obligation: z.boolean().default(false).describe("Apply only when the policy's decision names this budget in obligations.budgets (a project budget chosen by policy)."),
    window: z.enum(budgetWindows).optional().describe("Calendar window in UTC for the limits: minute, hour, day or month."),
    limits: budgetLimitsSchema.optional().describe("Limits per calendar window."),
    rate: rateLimitsSchema.optional().describe("Sliding-window rate limits."),
  })
  .superRefine((budget, ctx) => {
    const hasLimits = budget.limits !== undefined && Object.values(budget.limits).some((v) => v !== undefined);
    const hasRate = budget.rate !== undefined && Object.values(budget.rate).some((v) => v !== undefined);
    if (!hasLimits && !hasRate) ctx.addIssue({ code: "custom", message: "a budget needs limits (with a window) or a rate, or both" });
    if (hasLimits && budget.window === undefined) ctx.addIssue({ code: "custom", path: ["window"], message: "limits need a window: minute, hour, day or month" });
  });

export type BudgetConfig = z.output<typeof budgetSchema>;
export type BudgetLimits = z.output<typeof budgetLimitsSchema>;
export type RateLimits = z.output<typeof rateLimitsSchema>;

const redisStore = z.strictObject({
  kind: z.literal("redis"),
  url: z.string().default("redis://127.0.0.1:6379").describe("A standalone Redis, e.g. redis://:password@redis:6379/0."),
  cluster: z.array(z.string().min(1)).optional().describe("Redis Cluster seed nodes (host:port); when set, url is not used."),
  key_prefix: z.string().regex(/^[A-Za-z0-9:._-]+$/).default("tollgate").describe("Prefix of every key."),
  timeout: duration.default(500).describe("Longest wait for one Redis call before the store counts as unreachable."),
});

const memoryStore = z.strictObject({
  kind: z.literal("memory"),
});

export const budgetsSectionSchema = z.strictObject({
  store: z
    .discriminatedUnion("kind", [memoryStore, redisStore])
    .default({ kind: "memory" })
    .describe("Where counters live: memory (one replica; the embedded default) or redis (shared by every replica)."),
  on_store_failure: z
    .enum(["fail_closed", "fail_open"])
    .default("fail_closed")
    .describe("Redis unreachable: fail_closed refuses requests with 503; fail_open serves them under a per-replica local limiter."),
  lease: duration.default(600_000).describe("How long a reservation holds budget before it expires (a replica that died mid-request)."),
  default_max_output_tokens: count.default(4096).describe("Output tokens reserved for a request that sets no max_tokens."),
  hard_stop: z.boolean().default(false).describe("Cut a stream off when its output reaches what was reserved."),
  limits: z.array(budgetSchema).default([]).describe("The budgets."),
});

export type BudgetsSection = z.output<typeof budgetsSectionSchema>;

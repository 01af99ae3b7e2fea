import type { LlmApi } from "../../config/schema.ts";
import type { TokenUsage } from "../../gate/exchange.ts";
import type { JobFact } from "./job-facts.ts";

/** What the gateway reads back from a response: usage for budgets and audit, the rest for traces. */
export interface ResponseFacts {
  /** Batches and fine-tuning jobs the answer shows (account APIs). */
  jobs?: JobFact[];
  usage?: TokenUsage;
  model?: string;
  id?: string;
  finishReasons?: string[];
}

type Json = Record<string, unknown>;

const num = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);
const obj = (value: unknown): Json | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;

/** OpenAI's usage objects (chat, embeddings: prompt/completion; responses: input/output). */
function openaiUsage(raw: unknown): TokenUsage | undefined {
  const usage = obj(raw);
  if (usage === undefined) return undefined;
  const input = num(usage.prompt_tokens) ?? num(usage.input_tokens);
  if (input === undefined) return undefined;
  const output = num(usage.completion_tokens) ?? num(usage.output_tokens) ?? 0;
  const result: TokenUsage = { input, output };
  const cached = num(obj(usage.prompt_tokens_details)?.cached_tokens) ?? num(obj(usage.input_tokens_details)?.cached_tokens);
  if (cached !== undefined) result.cachedInput = cached;
  const reasoning =
    num(obj(usage.completion_tokens_details)?.reasoning_tokens) ?? num(obj(usage.output_tokens_details)?.reasoning_tokens);
  if (reasoning !== undefined) result.reasoning = reasoning;
  return result;
}

/** Anthropic's usage: input excludes cache reads and writes, which the gateway counts as input too. */
function anthropicUsage(raw: unknown, previous?: TokenUsage): TokenUsage | undefined {
  const usage = obj(raw);
  if (usage === undefined) return previous;
  const cacheRead = num(usage.cache_read_input_tokens);
  const cacheWrite = num(usage.cache_creation_input_tokens) ?? 0;
  const baseInput = num(usage.input_tokens);
  const input = baseInput === undefined ? previous?.input : baseInput + (cacheRead ?? 0) + cacheWrite;
  const output = num(usage.output_tokens) ?? previous?.output ?? 0;
  if (input === undefined) return previous === undefined ? undefined : { ...previous, output };
  const result: TokenUsage = { input, output };
  const cached = cacheRead ?? previous?.cachedInput;
  if (cached !== undefined) result.cachedInput = cached;
  const written = num(usage.cache_creation_input_tokens) ?? previous?.cacheWriteInput;
  if (written !== undefined && written > 0) result.cacheWriteInput = written;
  return result;
}

/** Facts from a whole JSON response body. */
export function factsFromJson(api: LlmApi, body: unknown): ResponseFacts {
  const json = obj(body);
  if (json === undefined) return {};
  const facts: ResponseFacts = {};
  if (typeof json.model === "string") facts.model = json.model;
  if (typeof json.id === "string") facts.id = json.id;
  const usage = api === "messages" ? anthropicUsage(json.usage) : openaiUsage(json.usage);
  if (usage !== undefined) facts.usage = usage;
  if (api === "chat" && Array.isArray(json.choices)) {
    facts.finishReasons = json.choices.map((c) => obj(c)?.finish_reason).filter((r): r is string => typeof r === "string");
  } else if (api === "messages" && typeof json.stop_reason === "string") {
    facts.finishReasons = [json.stop_reason];
  } else if (api === "responses" && typeof json.status === "string") {
    facts.finishReasons = [json.status];
  }
  return facts;
}

const chatFactMarker = /"usage":\s*\{|"finish_reason":\s*"/;

/**
 * Cheap pre-check on a raw SSE `data` field, so that only the few events that can carry facts are
 * parsed: a chat stream sends hundreds of deltas and one usage chunk.
 */
export function eventMayCarryFacts(api: LlmApi, event: string | undefined, data: string): boolean {
  switch (api) {
    case "chat":
      // Servers differ on spacing ("usage":{ from OpenAI, "usage": { from Python servers such as vLLM).
      return chatFactMarker.test(data);
    case "responses":
      return event === "response.completed" || event === "response.incomplete" || event === "response.failed" || event === "response.created";
    case "messages":
      return event === "message_start" || event === "message_delta";
    default:
      return false;
  }
}

/** Folds one parsed SSE event into the facts gathered so far. */
export function foldEvent(api: LlmApi, event: string | undefined, data: unknown, facts: ResponseFacts): void {
  const json = obj(data);
  if (json === undefined) return;
  if (api === "chat") {
    if (typeof json.model === "string") facts.model = json.model;
    if (typeof json.id === "string") facts.id = json.id;
    const usage = openaiUsage(json.usage);
    if (usage !== undefined) facts.usage = usage;
    if (Array.isArray(json.choices)) {
      for (const choice of json.choices) {
        const reason = obj(choice)?.finish_reason;
        if (typeof reason === "string") (facts.finishReasons ??= []).push(reason);
      }
    }
  } else if (api === "responses") {
    const response = obj(json.response);
    if (response === undefined) return;
    if (typeof response.model === "string") facts.model = response.model;
    if (typeof response.id === "string") facts.id = response.id;
    const usage = openaiUsage(response.usage);
    if (usage !== undefined) facts.usage = usage;
    if (event !== "response.created" && typeof response.status === "string") facts.finishReasons = [response.status];
  } else if (api === "messages") {
    if (event === "message_start") {
      const message = obj(json.message);
      if (typeof message?.model === "string") facts.model = message.model;
      if (typeof message?.id === "string") facts.id = message.id;
      const usage = anthropicUsage(message?.usage);
      if (usage !== undefined) facts.usage = usage;
    } else if (event === "message_delta") {
      const usage = anthropicUsage(json.usage, facts.usage);
      if (usage !== undefined) facts.usage = usage;
      const reason = obj(json.delta)?.stop_reason;
      if (typeof reason === "string") facts.finishReasons = [reason];
    }
  }
}

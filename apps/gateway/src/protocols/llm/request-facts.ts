import type { LlmApi } from "../../config/schema.ts";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { RequestFacts } from "../../policy/authorize-stage.ts";

/**
 * The body fields that cap a response's output tokens, per client API, the one to set first. Chat has
 * two: `max_completion_tokens` (current) and `max_tokens` (deprecated, still read by many servers), so
 * a cap must hold for both or a caller could slip a large value past it in the other field.
 */
export function outputCapFields(api: LlmApi): readonly string[] {
  switch (api) {
    case "chat":
      return chatCapFields;
    case "responses":
      return responsesCapFields;
    case "messages":
      return messagesCapFields;
    default:
      return noCapFields;
  }
}

const chatCapFields = ["max_completion_tokens", "max_tokens"] as const;
const responsesCapFields = ["max_output_tokens"] as const;
const messagesCapFields = ["max_tokens"] as const;
const noCapFields = [] as const;

/** The largest output cap a body asks for (the worst case the policy and budgets must see), if any. */
export function requestedOutputCap(api: LlmApi, json: Record<string, unknown>): number | undefined {
  let largest: number | undefined;
  for (const field of outputCapFields(api)) {
    const value = json[field];
    if (typeof value === "number" && Number.isFinite(value) && (largest === undefined || value > largest)) largest = value;
  }
  return largest;
}

/** The model a body names; a missing or mistyped model is the caller's error, said in its words. */
export function requireModel(json: Record<string, unknown>, field = "model"): string {
  const model = json[field];
  if (typeof model !== "string" || model.length === 0) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", `The request must name a model in "${field}" (a non-empty string).`, {
      param: field,
      reason: "request.missing_model",
    });
  }
  return model;
}

/**
 * What the policy sees of a request body as `input.request`: whether it streams, its output cap, and
 * for account APIs the fields that say what they will do. Never the prompt or any content.
 */
export function requestFacts(api: LlmApi, json: Record<string, unknown> | undefined): RequestFacts {
  if (json === undefined) return {};
  const facts: RequestFacts = {};
  if (typeof json.stream === "boolean") facts.stream = json.stream;
  const cap = requestedOutputCap(api, json);
  if (cap !== undefined) facts.max_tokens = cap;
  if (api === "batches") {
    if (typeof json.endpoint === "string") facts.endpoint = json.endpoint;
    if (typeof json.completion_window === "string") facts.completion_window = json.completion_window;
  }
  if (api === "fine_tuning" && typeof json.training_file === "string") facts.training_file = json.training_file;
  return facts;
}

import type { LlmApi } from "../../config/schema.ts";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { RequestFacts } from "../../policy/authorize-stage.ts";

/** The body field that caps a response's output tokens, per client API. */
export function outputCapField(api: LlmApi, json: Record<string, unknown>): string | undefined {
  switch (api) {
    case "chat":
      return json.max_completion_tokens !== undefined || json.max_tokens === undefined ? "max_completion_tokens" : "max_tokens";
    case "responses":
      return "max_output_tokens";
    case "messages":
      return "max_tokens";
    default:
      return undefined;
  }
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
  const capField = outputCapField(api, json);
  const cap = capField === undefined ? undefined : json[capField];
  if (typeof cap === "number") facts.max_tokens = cap;
  if (api === "batches") {
    if (typeof json.endpoint === "string") facts.endpoint = json.endpoint;
    if (typeof json.completion_window === "string") facts.completion_window = json.completion_window;
  }
  if (api === "fine_tuning" && typeof json.training_file === "string") facts.training_file = json.training_file;
  return facts;
}

import { TollgateError } from "../../errors/tollgate-error.ts";

/**
 * A JSON request body as the LLM path keeps it: the bytes exactly as the caller sent them (forwarded
 * unchanged unless the gateway must rewrite a field) and the parsed object (read, never trusted to be
 * well-typed: LLM bodies are typed loosely, only the fields the gateway reads are checked).
 */
export interface JsonBody {
  raw: Buffer;
  json: Record<string, unknown>;
}

export function parseJsonBody(raw: Buffer): JsonBody {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", `The request body is not valid JSON: ${(error as Error).message}`, {
      reason: "request.invalid_json",
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", "The request body must be a JSON object.", { reason: "request.invalid_json" });
  }
  return { raw, json: json as Record<string, unknown> };
}

export function isJsonBody(value: unknown): value is JsonBody {
  return typeof value === "object" && value !== null && Buffer.isBuffer((value as JsonBody).raw);
}

/**
 * Reading the few fields the demo provider needs from a loosely typed JSON body. Unknown fields are
 * accepted, as the real providers accept them; a missing or mistyped field the demo needs is a 400
 * worded the way the provider of the request would word it.
 */
import { ProviderError, type ProviderFamily } from "./provider-error.ts";

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class FieldReader {
  readonly family: ProviderFamily;

  constructor(family: ProviderFamily) {
    this.family = family;
  }

  /** The request body as an object; anything else (an array, a string, no body) is a 400. */
  body(body: unknown): JsonObject {
    if (isJsonObject(body)) return body;
    const message =
      this.family === "anthropic"
        ? "Input should be a valid JSON object"
        : "The request body must be a JSON object (Content-Type: application/json).";
    throw new ProviderError(400, message);
  }

  requiredString(object: JsonObject, field: string): string {
    const value = object[field];
    if (value === undefined || value === null) throw this.missing(field);
    if (typeof value !== "string") throw this.wrongType(field, "a string", value);
    return value;
  }

  optionalString(object: JsonObject, field: string): string | undefined {
    const value = object[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") throw this.wrongType(field, "a string", value);
    return value;
  }

  requiredArray(object: JsonObject, field: string): unknown[] {
    const value = object[field];
    if (value === undefined || value === null) throw this.missing(field);
    if (!Array.isArray(value)) throw this.wrongType(field, "an array", value);
    return value;
  }

  optionalBoolean(object: JsonObject, field: string): boolean | undefined {
    const value = object[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") throw this.wrongType(field, "a boolean", value);
    return value;
  }

  requiredInteger(object: JsonObject, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.optionalInteger(object, field, min, max);
    if (value === undefined) throw this.missing(field);
    return value;
  }

  optionalInteger(object: JsonObject, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = object[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value)) throw this.wrongType(field, "an integer", value);
    if (value < min) throw this.outOfRange(field, `>= ${min}`, value, "integer_below_min_value");
    if (value > max) throw this.outOfRange(field, `<= ${max}`, value, "integer_above_max_value");
    return value;
  }

  /** A 400 about `field` in this provider's wording. */
  invalid(field: string, message: string, code: string | null = "invalid_value"): ProviderError {
    const text = this.family === "anthropic" ? `${field}: ${message}` : `Invalid '${field}': ${message}`;
    return new ProviderError(400, text, { param: field, code });
  }

  missing(field: string): ProviderError {
    const message =
      this.family === "anthropic" ? `${field}: Field required` : `Missing required parameter: '${field}'.`;
    return new ProviderError(400, message, { param: field, code: "missing_required_parameter" });
  }

  private wrongType(field: string, expected: string, value: unknown): ProviderError {
    const message =
      this.family === "anthropic"
        ? `${field}: Input should be ${expected}`
        : `Invalid type for '${field}': expected ${expected}, but got ${describeJsonType(value)} instead.`;
    return new ProviderError(400, message, { param: field, code: "invalid_type" });
  }

  private outOfRange(field: string, bound: string, value: number, code: string): ProviderError {
    const message =
      this.family === "anthropic"
        ? `${field}: Input should be ${bound.startsWith(">") ? "greater" : "less"} than or equal to ${bound.slice(3)}`
        : `Invalid '${field}': expected a value ${bound}, but got ${value} instead.`;
    return new ProviderError(400, message, { param: field, code });
  }
}

function describeJsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "boolean":
      return "a boolean";
    case "number":
      return Number.isInteger(value) ? "an integer" : "a decimal";
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

export const openAiFields = new FieldReader("openai");
export const anthropicFields = new FieldReader("anthropic");

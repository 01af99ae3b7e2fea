/**
 * Authentication as the real providers do it: OpenAI wants `Authorization: Bearer <key>`, Anthropic
 * wants its key and an `anthropic-version` header. Anthropic's key comes as `x-api-key`, or as
 * `Authorization: Bearer`, which is how @anthropic-ai/sdk 1.17 sends an `apiKey`. A key left
 * undefined in the options accepts any key, but a key must still be sent, so a test can prove the
 * gateway added one.
 */
import type { IncomingHttpHeaders } from "node:http";
import { ProviderError, type ProviderFamily } from "./provider-error.ts";

export interface ProviderKeys {
  readonly openAi: string | undefined;
  readonly anthropic: string | undefined;
}

/** The error the provider of `family` answers these headers with, or undefined when they pass. */
export function authenticationError(
  family: ProviderFamily,
  headers: IncomingHttpHeaders,
  keys: ProviderKeys,
): ProviderError | undefined {
  return family === "anthropic" ? anthropicAuthError(headers, keys.anthropic) : openAiAuthError(headers, keys.openAi);
}

function openAiAuthError(headers: IncomingHttpHeaders, expected: string | undefined): ProviderError | undefined {
  const key = bearerToken(headers.authorization);
  if (key === undefined) {
    return new ProviderError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      { code: "invalid_api_key" },
    );
  }
  if (expected !== undefined && key !== expected) {
    return new ProviderError(401, `Incorrect API key provided: ${redact(key)}.`, { code: "invalid_api_key" });
  }
  return undefined;
}

function anthropicAuthError(headers: IncomingHttpHeaders, expected: string | undefined): ProviderError | undefined {
  const apiKey = singleValue(headers["x-api-key"]);
  const key = apiKey !== undefined && apiKey.length > 0 ? apiKey : bearerToken(headers.authorization);
  if (key === undefined) return new ProviderError(401, "x-api-key header is required");
  if (expected !== undefined && key !== expected) {
    return new ProviderError(401, key === apiKey ? "invalid x-api-key" : "invalid bearer token");
  }
  const version = singleValue(headers["anthropic-version"]);
  if (version === undefined || version.length === 0) {
    return new ProviderError(400, "anthropic-version: header is required");
  }
  return undefined;
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^bearer\s+(\S+)\s*$/iu.exec(authorization);
  return match?.[1];
}

function singleValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Shows enough of a wrong key to recognise it, never the whole of it. */
function redact(key: string): string {
  if (key.length <= 8) return "*".repeat(key.length);
  return `${key.slice(0, 3)}${"*".repeat(Math.min(key.length - 7, 24))}${key.slice(-4)}`;
}

import type { IncomingHttpHeaders } from "node:http";

/**
 * Request headers an agent may send on to the provider: they select API versions and betas. Everything
 * else stays at the gateway, above all the agent's `authorization` and `x-api-key`, which identify
 * nothing upstream and must never reach a provider.
 */
const forwardedRequestHeaders = ["anthropic-version", "anthropic-beta", "openai-beta", "content-type", "content-length"] as const;

export function forwardedHeaders(headers: IncomingHttpHeaders, withBodyLength: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of forwardedRequestHeaders) {
    if (name === "content-length" && !withBodyLength) continue;
    const value = headers[name];
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

/**
 * Response headers passed back to the agent; the provider's rate-limit and account headers are not.
 * The body passes through as its bytes came, so its content-encoding must come along (the gateway asks
 * for identity, but a provider may encode anyway).
 */
const returnedResponseHeaders = ["content-type", "content-encoding", "content-disposition", "openai-processing-ms"] as const;
const returnedWhenError = ["retry-after", "retry-after-ms"] as const;

export function returnedHeaders(
  headers: Record<string, string | string[] | undefined>,
  isError: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of returnedResponseHeaders) {
    const value = headers[name];
    if (typeof value === "string") out[name] = value;
  }
  if (isError) {
    for (const name of returnedWhenError) {
      const value = headers[name];
      if (typeof value === "string") out[name] = value;
    }
  }
  const upstreamId = headers["x-request-id"] ?? headers["request-id"];
  if (typeof upstreamId === "string") out["x-upstream-request-id"] = upstreamId;
  return out;
}

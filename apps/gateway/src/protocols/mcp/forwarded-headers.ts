import type { IncomingHttpHeaders } from "node:http";

/**
 * The request headers an MCP server may see from the agent: the transport's own. Everything else,
 * above all the agent's `authorization` and cookies, stays at the gateway; the session id is the
 * server's own, put back by the gateway (see mcp-session.ts). `Mcp-Param-*` headers (2026-07-28,
 * mirrored tool arguments) are passed on as an intermediary must, unread: the body, which the policy
 * decided on, is what the server acts on, and it checks them against the body itself.
 */
const passed = ["accept", "content-type", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id"] as const;
const paramPrefix = "mcp-param-";

export function forwardedMcpHeaders(headers: IncomingHttpHeaders, method: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of passed) {
    const value = headers[name];
    if (typeof value === "string") out[name] = value;
  }
  for (const name in headers) {
    if (!name.startsWith(paramPrefix)) continue;
    const value = headers[name];
    if (typeof value === "string") out[name] = value;
  }
  out.accept ??= method === "GET" ? "text/event-stream" : "application/json, text/event-stream";
  if (method !== "POST") delete out["content-type"];
  if (method !== "GET") delete out["last-event-id"];
  return out;
}

/** A header's value as one string (repeated headers joined), or undefined. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

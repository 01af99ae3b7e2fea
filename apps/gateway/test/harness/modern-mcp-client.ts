/**
 * A client of MCP's 2026-07-28 revision, for tests: the official SDK speaks only the earlier ones.
 * Each request is one POST with the revision's `_meta` and mirrored headers (Mcp-Method, Mcp-Name,
 * MCP-Protocol-Version); the answer is read as JSON or as SSE, message by message as they arrive.
 */
import { createParser } from "eventsource-parser";
import { type Dispatcher, request } from "undici";

export const modernVersion = "2026-07-28";

type Json = Record<string, unknown>;

export interface ModernRequest {
  method: string;
  params?: Json;
  id?: number | string;
  /** Capabilities declared in `_meta` (per request, in this revision). */
  capabilities?: Json;
  /** Headers to set (or, with undefined, to leave out) over the mirrored ones. */
  headers?: Record<string, string | undefined>;
  /** Called for each message as it arrives. */
  onMessage?: (message: Json) => void;
  /** The HTTP method (default POST). */
  httpMethod?: "POST" | "GET" | "DELETE";
}

export interface ModernAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  messages: Json[];
  /** The last message: the response, when one came. */
  response: Json | undefined;
}

const namedBy: Record<string, string> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };

/** `Mcp-Name` as the revision encodes it: plain when header-safe, else `=?base64?...?=`. */
export function mirroredName(value: string): string {
  return /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !(value.startsWith("=?base64?") && value.endsWith("?="))
    ? value
    : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

let nextId = 1;

export async function modernRequest(dispatcher: Dispatcher, url: string, call: ModernRequest): Promise<ModernAnswer> {
  const id = call.id ?? nextId++;
  const params: Json = {
    ...call.params,
    _meta: {
      ...(call.params?._meta as Json | undefined),
      "io.modelcontextprotocol/protocolVersion": modernVersion,
      "io.modelcontextprotocol/clientCapabilities": call.capabilities ?? {},
      "io.modelcontextprotocol/clientInfo": { name: "modern-test-client", version: "1.0.0" },
    },
  };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": modernVersion,
    "mcp-method": call.method,
  };
  const field = namedBy[call.method];
  const name = field === undefined ? undefined : params[field];
  if (typeof name === "string") headers["mcp-name"] = mirroredName(name);
  for (const [key, value] of Object.entries(call.headers ?? {})) {
    if (value === undefined) delete headers[key];
    else headers[key] = value;
  }
  const httpMethod = call.httpMethod ?? "POST";
  const response = await request(url, {
    dispatcher,
    method: httpMethod,
    headers,
    ...(httpMethod === "POST" ? { body: JSON.stringify({ jsonrpc: "2.0", id, method: call.method, params }) } : {}),
  });
  const contentType = String(response.headers["content-type"] ?? "");
  const messages: Json[] = [];
  if (contentType.startsWith("text/event-stream")) {
    const parser = createParser({
      onEvent: (event) => {
        if (event.data === "") return;
        const message = JSON.parse(event.data) as Json;
        messages.push(message);
        call.onMessage?.(message);
      },
    });
    for await (const chunk of response.body) parser.feed(Buffer.from(chunk as Uint8Array).toString("utf8"));
  } else {
    const text = await response.body.text();
    if (text !== "") {
      const message = JSON.parse(text) as Json;
      messages.push(message);
      call.onMessage?.(message);
    }
  }
  return { status: response.statusCode, headers: response.headers, contentType, messages, response: messages.at(-1) };
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import { LATEST_PROTOCOL_VERSION, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

type Json = Record<string, unknown>;

export const modernVersion = "2026-07-28";
const versionKey = "io.modelcontextprotocol/protocolVersion";
const capabilitiesKey = "io.modelcontextprotocol/clientCapabilities";
const serverInfo = { name: "tollgate-demo-tickets", version: "1.0.0" };
const namedBy: Readonly<Record<string, string>> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };
const listResults = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list"]);

/** An SDK transport inside the process: the server's messages go to `sink`. */
class InProcessTransport implements Transport {
  onmessage?: Transport["onmessage"];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  readonly #sink: (message: Json, options: TransportSendOptions | undefined) => void;

  constructor(sink: (message: Json, options: TransportSendOptions | undefined) => void) {
    this.#sink = sink;
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.#sink(message as unknown as Json, options);
  }

  async close(): Promise<void> {
    this.onclose?.();
  }

  deliver(message: Json): void {
    this.onmessage?.(message as unknown as JSONRPCMessage);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sendJson(response: ServerResponse, status: number, body: Json): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function errorBody(id: unknown, code: number, message: string, data?: Json): Json {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message, ...(data === undefined ? {} : { data }) } };
}

function decodeHeader(value: string): string {
  const encoded = /^=\?base64\?(.*)\?=$/.exec(value);
  return encoded === null ? value : Buffer.from(encoded[1] ?? "", "base64").toString("utf8");
}

/**
 * Serves one request of the 2026-07-28 revision with the same McpServer the earlier revisions use,
 * so the demo speaks both generations. That revision is stateless: every request is handled by a
 * fresh server that is told the client's capabilities from the request's `_meta`. A request the
 * server makes of the client (sampling, here) becomes an InputRequiredResult (multi round-trip
 * requests); the retried request carries the answers in `inputResponses`, which the fresh server is
 * given in turn when it asks again. Results get `resultType`, and lists the cache hints the revision
 * requires. The mirrored headers are checked against the body, as the revision requires of servers.
 */
export function serveModernRequest(createServer: () => McpServer, request: IncomingMessage, response: ServerResponse, body: Json): void {
  const method = body.method;
  const params = isObject(body.params) ? body.params : {};
  const meta = isObject(params._meta) ? params._meta : {};
  if (typeof method !== "string") {
    sendJson(response, 400, errorBody(body.id, -32600, "Clients of protocol version 2026-07-28 send requests and notifications only."));
    return;
  }
  const headerProblem = mirroredHeaderProblem(request, method, params, meta, "id" in body);
  if (headerProblem !== undefined) {
    sendJson(response, 400, errorBody(body.id, -32020, `Header mismatch: ${headerProblem}`));
    return;
  }
  if (!("id" in body)) {
    response.writeHead(202).end();
    return;
  }
  if (method === "server/discover") {
    sendJson(response, 200, {
      jsonrpc: "2.0",
      id: body.id,
      result: {
        resultType: "complete",
        supportedVersions: [modernVersion, LATEST_PROTOCOL_VERSION],
        capabilities: { tools: {}, resources: {}, prompts: {}, completions: {}, logging: {} },
        serverInfo,
        ttlMs: 60_000,
        cacheScope: "public",
      },
    });
    return;
  }
  runOnFreshServer(createServer, response, body, method, params, meta);
}

function mirroredHeaderProblem(request: IncomingMessage, method: string, params: Json, meta: Json, isRequest: boolean): string | undefined {
  const version = request.headers["mcp-protocol-version"];
  if (isRequest && meta[versionKey] !== version) return "MCP-Protocol-Version does not match params._meta";
  const methodHeader = request.headers["mcp-method"];
  if (isRequest && methodHeader !== method) return "Mcp-Method does not match the body's method";
  const field = namedBy[method];
  if (field !== undefined) {
    const nameHeader = request.headers["mcp-name"];
    if (typeof nameHeader !== "string" || decodeHeader(nameHeader) !== params[field]) return `Mcp-Name does not match params.${field}`;
  }
  return undefined;
}

function runOnFreshServer(createServer: () => McpServer, response: ServerResponse, body: Json, method: string, params: Json, meta: Json): void {
  const server = createServer();
  const inputResponses = isObject(params.inputResponses) ? params.inputResponses : {};
  let inputCount = 0;
  let streaming = false;
  let done = false;
  const finish = (message: Json) => {
    if (done) return;
    done = true;
    if (streaming) response.end(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    else sendJson(response, 200, message);
    void server.close();
  };
  const transport = new InProcessTransport((message, options) => {
    if (message.id === "init") return;
    if ("result" in message || "error" in message) {
      if (message.id !== "call") return;
      const result = isObject(message.result) ? { resultType: "complete", ...message.result, ...(listResults.has(method) ? { ttlMs: 60_000, cacheScope: "public" } : {}) } : undefined;
      finish(result === undefined ? { ...message, id: body.id } : { jsonrpc: "2.0", id: body.id, result });
      return;
    }
    if (typeof message.method !== "string" || options?.relatedRequestId !== "call") return;
    if ("id" in message) {
      // The server asks the client: answered from inputResponses when the retry brought it, else asked for.
      inputCount += 1;
      const key = `input-${inputCount}`;
      const answer = inputResponses[key];
      if (answer !== undefined) {
        transport.deliver({ jsonrpc: "2.0", id: message.id as string | number, result: answer as Json });
        return;
      }
      finish({
        jsonrpc: "2.0",
        id: body.id,
        result: { resultType: "input_required", inputRequests: { [key]: { method: message.method, params: message.params } } },
      });
      return;
    }
    if (done) return;
    if (!streaming) {
      streaming = true;
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    }
    response.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  });
  // Closing the response stream cancels the request (2026-07-28 "Cancellation").
  response.once("close", () => {
    if (!done) {
      done = true;
      transport.deliver({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "call", reason: "the client closed the stream" } });
      void server.close();
    }
  });
  void server.connect(transport).then(() => {
    transport.deliver({
      jsonrpc: "2.0",
      id: "init",
      method: "initialize",
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: isObject(meta[capabilitiesKey]) ? meta[capabilitiesKey] : {}, clientInfo: { name: "modern-client", version: "0" } },
    });
    transport.deliver({ jsonrpc: "2.0", method: "notifications/initialized" });
    const { inputResponses: _answered, requestState: _state, ...forwarded } = params;
    transport.deliver({ jsonrpc: "2.0", id: "call", method, params: forwarded });
  });
}

/**
 * A stateless MCP server (the SDK's low-level Server) whose lists come in pages of two, answering in
 * JSON or in SSE: what list filtering must handle beyond the demo server, which lists all at once.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListPromptsRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

export interface PagedMcpServer {
  url: string;
  close(): Promise<void>;
}

function page<T>(items: readonly T[], cursor: string | undefined): { items: T[]; nextCursor?: string } {
  const start = Number(cursor ?? 0);
  const next = start + 2;
  return { items: items.slice(start, next), ...(next < items.length ? { nextCursor: String(next) } : {}) };
}

export async function startPagedMcpServer(options: { tools: readonly string[]; prompts: readonly string[]; json: boolean }): Promise<PagedMcpServer> {
  const mcpServer = () => {
    const server = new Server({ name: "paged", version: "1.0.0" }, { capabilities: { tools: {}, prompts: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async (request) => {
      const { items, nextCursor } = page(options.tools, request.params?.cursor);
      return { tools: items.map((name) => ({ name, inputSchema: { type: "object" as const } })), ...(nextCursor === undefined ? {} : { nextCursor }) };
    });
    server.setRequestHandler(ListPromptsRequestSchema, async (request) => {
      const { items, nextCursor } = page(options.prompts, request.params?.cursor);
      return { prompts: items.map((name) => ({ name })), ...(nextCursor === undefined ? {} : { nextCursor }) };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request) => ({ content: [{ type: "text" as const, text: `called ${request.params.name}` }] }));
    return server;
  };
  const http = createServer((request: IncomingMessage, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
      const body = chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
      // Stateless: a fresh server and transport per request, as the SDK asks.
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: options.json });
      response.once("close", () => void transport.close());
      await mcpServer().connect(transport);
      await transport.handleRequest(request, response, body);
    })().catch(() => response.destroy());
  });
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      http.closeAllConnections();
      http.close();
      await once(http, "close");
    },
  };
}

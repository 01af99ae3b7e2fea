import { randomUUID, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { BoundedEventStore } from "../../protocols/mcp/upstream/bounded-event-store.ts";
import { modernVersion, serveModernRequest } from "./modern-requests.ts";
import { TicketStore } from "./ticket-store.ts";
import { createTicketsServer } from "./tickets-server.ts";
import { ToolHolds } from "./tool-holds.ts";

type Json = Record<string, unknown>;

/** What reached the demo server, for tests to look at (the headers above all: no agent credential may be among them). */
export interface DemoMcpRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: Json | undefined;
  /** The SPIFFE ID of the client certificate, when served over mutual TLS. */
  peer: string | undefined;
}

export interface TicketsMcpServerOptions {
  /** Required as `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Serve HTTPS and require a client certificate issued by `caPem`. */
  tls?: { certPem: string; keyPem: string; caPem: string };
  /** Register the tools tests steer the server with. */
  testTools?: boolean;
  /** How many requests `requests` keeps, the latest (default 10,000; 0 for none, as the quickstart runs it). */
  requestLog?: number;
  /** Most sessions open at once; the oldest is closed to make room (default 1,000). */
  maxSessions?: number;
}

export interface TicketsMcpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:PORT/mcp */
  readonly url: string;
  readonly store: TicketStore;
  readonly holds: ToolHolds;
  readonly requests: DemoMcpRequest[];
  /** Sessions open now. */
  sessions(): number;
  /** Stops listening and drops every connection at once, as a server that crashed would. */
  crash(): void;
  close(): Promise<void>;
}

const maxBody = 4 * 1024 * 1024;

/**
 * The demo MCP server `tickets` over Streamable HTTP, on a loopback port: sessions with resumable
 * streams (the SDK's transport with an event store) for clients of 2025-11-25 and earlier, and the
 * stateless 2026-07-28 revision for clients that ask for it. The quickstart runs it in process with a
 * fresh bearer token only the gateway knows; tests and the benchmark run it as their MCP server.
 */
export async function startTicketsMcpServer(options: TicketsMcpServerOptions = {}): Promise<TicketsMcpServer> {
  const store = new TicketStore();
  const holds = new ToolHolds();
  const requests: DemoMcpRequest[] = [];
  const requestLog = options.requestLog ?? 10_000;
  const maxSessions = options.maxSessions ?? 1_000;
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const sockets = new Set<Socket>();
  let crashed = false;
  const crash = () => {
    crashed = true;
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  const newServer = () => createTicketsServer({ store, holds, testTools: options.testTools === true, crash });

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (crashed) {
      request.socket.destroy();
      return;
    }
    const body = request.method === "POST" ? await readJson(request) : undefined;
    if (requestLog > 0) {
      requests.push({ method: request.method ?? "", headers: request.headers, body: body === "invalid" ? undefined : body, peer: peerSpiffeId(request) });
      if (requests.length > requestLog) requests.shift();
    }
    if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
      sendJson(response, 401, { jsonrpc: "2.0", id: null, error: { code: -32001, message: "Unauthorized" } });
      return;
    }
    if (body === "invalid") {
      sendJson(response, 400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
      return;
    }
    if (request.headers["mcp-protocol-version"] === modernVersion) {
      if (request.method !== "POST" || body === undefined) {
        response.writeHead(405, { allow: "POST" }).end();
        return;
      }
      serveModernRequest(newServer, request, response, body);
      return;
    }
    const sessionId = request.headers["mcp-session-id"];
    if (typeof sessionId === "string") {
      const transport = transports.get(sessionId);
      if (transport === undefined) {
        sendJson(response, 404, { jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } });
        return;
      }
      await transport.handleRequest(request, response, body);
      return;
    }
    if (request.method === "POST" && body?.method === "initialize") {
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new BoundedEventStore(),
        onsessioninitialized: (id) => {
          transports.set(id, transport);
          // Clients that never end their sessions must not grow the server without bound.
          if (transports.size > maxSessions) void transports.values().next().value?.close();
        },
        onsessionclosed: (id) => {
          transports.delete(id);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) transports.delete(transport.sessionId);
      };
      await newServer().connect(transport);
      await transport.handleRequest(request, response, body);
      return;
    }
    sendJson(response, 400, { jsonrpc: "2.0", id: null, error: { code: -32000, message: "Bad Request: no valid session id" } });
  };

  const listener = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) sendJson(response, 500, { jsonrpc: "2.0", id: null, error: { code: -32603, message: "Internal error" } });
      else response.destroy();
    });
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(listener)
      : createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem, ca: options.tls.caPem, requestCert: true, rejectUnauthorized: true }, listener);
  server.on(options.tls === undefined ? "connection" : "secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}/mcp`,
    store,
    holds,
    requests,
    sessions: () => transports.size,
    crash,
    close: async () => {
      await Promise.all([...transports.values()].map((transport) => transport.close()));
      for (const socket of sockets) socket.destroy();
      if (server.listening) {
        server.close();
        await once(server, "close");
      }
    },
  };
}

async function readJson(request: IncomingMessage): Promise<Json | "invalid"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) return "invalid";
    chunks.push(chunk);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : "invalid";
  } catch {
    return "invalid";
  }
}

function sendJson(response: ServerResponse, status: number, body: Json): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function peerSpiffeId(request: IncomingMessage): string | undefined {
  const socket = request.socket as TLSSocket;
  if (typeof socket.getPeerX509Certificate !== "function") return undefined;
  const certificate: X509Certificate | undefined = socket.getPeerX509Certificate();
  const uri = certificate?.subjectAltName?.split(/,\s*/).find((entry) => entry.startsWith("URI:"));
  return uri?.slice("URI:".length);
}

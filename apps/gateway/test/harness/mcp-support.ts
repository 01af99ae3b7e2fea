/**
 * MCP on top of the gateway harness: the demo `tickets` server as the upstream (over HTTP in this
 * process, or as a stdio command the gateway runs), grants for the tools tests steer it with, and the
 * official SDK's client presenting an agent's SVID through a custom fetch.
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, type CreateMessageResult } from "@modelcontextprotocol/sdk/types.js";
import { fetch as undiciFetch, type Dispatcher } from "undici";
import { demoMcpServer } from "../../src/config/mcp-schema.ts";
import type { ConfigInput } from "../../src/config/schema.ts";
import { quickstartIdentities } from "../../src/config/embedded.ts";
import type { Harness, PresentedSvid } from "./gateway-harness.ts";

/** The token the gateway holds for the demo server: an agent must never see it, nor send its own. */
export const ticketsToken = "tickets-upstream-token-0123456789";
/** What an agent's MCP client sends as its own bearer token, which must never reach the server. */
export const agentToken = "agent-side-token-that-must-not-travel";

export const ticketsTarget = demoMcpServer.target;
export const stdioTicketsMain = join(import.meta.dirname, "../../src/demo/mcp/tickets-stdio.ts");

/** Grants (appended to the shipped ones) for the tools tests use to hold, release and crash the server. */
export const testToolGrants: readonly Record<string, unknown>[] = [
  {
    name: "test-tools",
    agents: [quickstartIdentities["customer-support"]],
    targets: [ticketsTarget],
    kind: "tool",
    names: ["count_slowly", "release_hold", "cancelled_holds", "crash"],
    actions: ["list", "call"],
  },
];

/** Adds MCP servers to a harness configuration. */
export function withMcpServers(config: ConfigInput, servers: NonNullable<NonNullable<ConfigInput["mcp"]>["servers"]>, extra: Partial<NonNullable<ConfigInput["mcp"]>> = {}): void {
  config.mcp = { ...config.mcp, ...extra, servers: { ...config.mcp?.servers, ...servers } };
}

/** The demo server as a stdio command, with its test tools. */
export function stdioTicketsServer(extra: Record<string, unknown> = {}): NonNullable<NonNullable<ConfigInput["mcp"]>["servers"]>[string] {
  return { target: ticketsTarget, command: process.execPath, args: [stdioTicketsMain, "--test-tools"], ...extra };
}

/** fetch as an MCP client's transport calls it, presenting the agent's SVID. */
export function mcpFetch(dispatcher: Dispatcher): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as string, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })) as unknown as typeof fetch;
}

export interface ConnectedClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** The sampling requests the agent was asked, in order. */
  samplingRequests: unknown[];
  close(): Promise<void>;
}

export interface ConnectOptions {
  server?: string;
  /** Answer sampling requests (declares the capability). */
  sampling?: boolean;
  /** Resume an existing session instead of initializing one. */
  sessionId?: string;
  /** Another replica's URL (default: the harness's gateway). */
  url?: string;
  dispatcher?: Dispatcher;
}

/** The official SDK client, connected through the gateway as `identity`. */
export async function connectMcp(h: Harness, identity: PresentedSvid, options: ConnectOptions = {}): Promise<ConnectedClient> {
  const dispatcher = options.dispatcher ?? h.dispatcher(identity);
  const transport = new StreamableHTTPClientTransport(new URL(`${options.url ?? h.url}/mcp/${options.server ?? "tickets"}`), {
    fetch: mcpFetch(dispatcher),
    requestInit: { headers: { authorization: `Bearer ${agentToken}`, cookie: "agent-session=secret" } },
    reconnectionOptions: { initialReconnectionDelay: 10, maxReconnectionDelay: 50, reconnectionDelayGrowFactor: 1, maxRetries: 2 },
    ...(options.sessionId === undefined ? {} : { sessionId: options.sessionId }),
  });
  const client = new Client({ name: "tollgate-test-agent", version: "1.0.0" }, { capabilities: options.sampling === true ? { sampling: {} } : {} });
  const samplingRequests: unknown[] = [];
  if (options.sampling === true) {
    client.setRequestHandler(CreateMessageRequestSchema, async (request): Promise<CreateMessageResult> => {
      samplingRequests.push(request.params);
      return { role: "assistant", model: "agent-model", content: { type: "text", text: "We are on it!" } };
    });
  }
  // With a session id the SDK resumes that session instead of initializing a new one.
  await client.connect(transport);
  return {
    client,
    transport,
    samplingRequests,
    close: async () => {
      await client.close();
    },
  };
}

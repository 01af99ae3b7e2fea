import type { Tracer } from "@opentelemetry/api";
import type { SessionSealer } from "./session-token.ts";
import type { ToolCallQuotas } from "./tool-call-quotas.ts";
import type { McpUpstream } from "./upstream/mcp-upstream.ts";

/** One configured MCP server, as the protocol module serves it at /mcp/{name}. */
export interface McpServerRoute {
  readonly name: string;
  /** Its SPIFFE ID: `input.target` of every decision about it. */
  readonly target: string;
  readonly upstream: McpUpstream;
  readonly quotas: ToolCallQuotas;
}

export interface McpLog {
  info(detail: Record<string, unknown>, message: string): void;
  warn(detail: Record<string, unknown>, message: string): void;
}

/** What the MCP protocol module is built from at start; nothing in it changes per request. */
export interface McpContext {
  readonly servers: ReadonlyMap<string, McpServerRoute>;
  readonly sessions: SessionSealer;
  /** This process's id, sealed into the session ids of stdio servers (whose processes live here). */
  readonly replicaId: string;
  /** Largest message an agent may POST. */
  readonly bodyLimit: number;
  /** Largest server message the gateway inspects. */
  readonly maxMessageSize: number;
  readonly log: McpLog;
  /** Traces the call to the server (the data plane passes its tracer in). */
  readonly tracer?: Tracer;
}

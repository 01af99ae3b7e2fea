import type { Readable } from "node:stream";
import type { TollgateError } from "../../../errors/tollgate-error.ts";
import type { ClientMessage, JsonObject } from "../json-rpc.ts";
import type { Era } from "../protocol-version.ts";

/** One request to an MCP server, as the gateway forwards it. */
export interface UpstreamCall {
  method: "POST" | "GET" | "DELETE";
  era: Era;
  /**
   * The MCP headers the agent sent that the server may see (content type, accept, protocol version,
   * Last-Event-ID, Mcp-Method, Mcp-Name, Mcp-Param-*); never its credentials.
   */
  headers: Record<string, string>;
  /** The server's own session id, unsealed from the agent's; undefined outside a session. */
  session: string | undefined;
  /** POST: the message as the agent sent it. */
  message: ClientMessage | undefined;
  /** The gateway's id of the request (the exchange's), quoted in errors the upstream writes itself. */
  requestId: string;
  /** The caller's SPIFFE ID (a stdio server of the 2026-07-28 era runs one process per caller). */
  caller: string;
  /** Aborted when the agent goes away. */
  signal: AbortSignal;
  /** A stream meant to stay open while idle (the GET stream, subscriptions/listen): no idle timeout. */
  longLived: boolean;
  /** Called when the server fails this request after answering has begun (a stdio process that exits). */
  onFailure: (error: TollgateError) => void;
}

/** The server's answer: its status, headers (lower-case names) and body, still streaming. */
export interface UpstreamReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/**
 * How the gateway reaches one MCP server: over Streamable HTTP (http-upstream.ts), or by running it
 * and bridging its stdio to Streamable HTTP (stdio-upstream.ts). The protocol module above sees the
 * same answer from both, so authorization, filtering and streaming are written once.
 */
export interface McpUpstream {
  readonly transport: "http" | "stdio";
  /** Throws a TollgateError (502, 504, 503) when the server cannot be reached. */
  send(call: UpstreamCall): Promise<UpstreamReply>;
  /**
   * Sends the server a JSON-RPC response of the gateway's own (the refusal of a request the server
   * made of the agent), within the server's session. Failures are the server's to notice: they are
   * reported, not thrown.
   */
  answer(session: string | undefined, era: Era, protocolVersion: string | undefined, message: JsonObject): Promise<void>;
  close(): Promise<void>;
}

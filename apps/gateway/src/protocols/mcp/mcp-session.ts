import { TollgateError } from "../../errors/tollgate-error.ts";
import type { McpContext, McpServerRoute } from "./mcp-context.ts";
import { maxUpstreamSessionId, type SessionClaims } from "./session-token.ts";

/**
 * The session a request belongs to, from the Mcp-Session-Id the agent holds (2025-11-25 and
 * earlier). The id opens only with the replicas' key, only for this server, only for the caller that
 * opened it; for a stdio server, only on the replica whose process serves it. Anything else is 404,
 * which tells an MCP client to start a new session; which of the reasons it was is logged, not said.
 */
export function openSession(context: McpContext, server: McpServerRoute, token: string | undefined, caller: string): SessionClaims | undefined {
  if (token === undefined) return undefined;
  const claims = context.sessions.open(token, server.name);
  if (claims === undefined || claims.caller !== caller) {
    throw new TollgateError("TG_ERR_MCP_SESSION_NOT_FOUND", "Session not found; start a new one with initialize.", {
      reason: claims === undefined ? "mcp.session_unreadable" : "mcp.session_other_caller",
    });
  }
  if (server.upstream.transport === "stdio" && claims.replica !== context.replicaId) {
    throw new TollgateError(
      "TG_ERR_MCP_SESSION_NOT_FOUND",
      `Session not found on this gateway replica: the process of the stdio MCP server "${server.name}" runs on the replica that started the session. Start a new session, or route by Mcp-Session-Id.`,
      { reason: "mcp.session_other_replica" },
    );
  }
  return claims;
}

/**
 * The session id to give the agent for the one the server answered with: the agent's own when the
 * server's is unchanged (so the id an agent holds stays stable), else a newly sealed one.
 */
export function sealedSessionFor(
  context: McpContext,
  server: McpServerRoute,
  upstreamSession: string,
  caller: string,
  current: { token: string; claims: SessionClaims } | undefined,
): string {
  if (current !== undefined && current.claims.upstream === upstreamSession) return current.token;
  if (upstreamSession.length > maxUpstreamSessionId || !/^[\x21-\x7e]+$/.test(upstreamSession)) {
    throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${server.name}" answered with a malformed session id.`, {
      reason: "mcp.upstream_session_malformed",
    });
  }
  return context.sessions.seal({
    server: server.name,
    caller,
    upstream: upstreamSession,
    ...(server.upstream.transport === "stdio" ? { replica: context.replicaId } : {}),
  });
}

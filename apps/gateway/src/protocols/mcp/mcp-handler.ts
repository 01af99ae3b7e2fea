import { abortWhenCallerLeaves } from "../../upstream/abort-when-caller-leaves.ts";
import { SpanKind } from "@opentelemetry/api";
import type { FastifyReply, FastifyRequest } from "fastify";
import { startChildSpan } from "../../telemetry/tracing.ts";
import { TollgateError } from "../../errors/tollgate-error.ts";
import { type McpOperation, classifyMessage } from "./classify.ts";
import { forwardedMcpHeaders, headerValue } from "./forwarded-headers.ts";
import { type ClientMessage, parseClientMessage } from "./json-rpc.ts";
import { answerWithUpstream } from "./mcp-answer.ts";
import { authorizeMcpOperation, itemDecider } from "./mcp-authorization.ts";
import type { McpContext } from "./mcp-context.ts";
import { openSession, sealedSessionFor } from "./mcp-session.ts";
import { checkMirroredHeaders } from "./mirrored-headers.ts";
import { eraOf } from "./protocol-version.ts";

/** The session plumbing a GET (the server's stream) or a DELETE (the session's end) is, for the policy. */
const plumbing: McpOperation = { kind: "connect", method: undefined, preferred: "tool", subscriptions: [] };

/**
 * One request to /mcp/{server}: POST (a JSON-RPC message), GET (the server's stream) or DELETE (end
 * of session). In order: which server and which revision of the transport; for a POST, the message
 * parsed and its mirrored headers checked; the session opened; the policy asked on the body; a tool
 * call counted against its quotas; then the request forwarded with the gateway's own credentials and
 * the answer relayed, inspected on its way.
 */
export async function handleMcpRequest(context: McpContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const exchange = request.exchange;
  const name = (request.params as { server: string }).server;
  const server = context.servers.get(name);
  if (server === undefined) {
    throw new TollgateError("TG_ERR_MCP_UNKNOWN_SERVER", `No MCP server named "${name}" is configured on this gateway.`, { reason: "mcp.unknown_server" });
  }
  exchange.target = server.target;
  const caller = exchange.caller?.id.uri;
  if (caller === undefined) throw new TollgateError("TG_ERR_UNAUTHENTICATED", "The caller is not authenticated.", { reason: "identity.missing" });

  const method = request.method as "POST" | "GET" | "DELETE";
  const message = method === "POST" ? parseMessage(request) : undefined;
  const protocolVersion = headerValue(request.headers, "mcp-protocol-version");
  const era = eraOf(protocolVersion, message);
  if (era === "modern" && method !== "POST") {
    throw new TollgateError("TG_ERR_METHOD_NOT_ALLOWED", `${method} is not part of MCP protocol version 2026-07-28, which has no sessions and no GET stream.`, {
      reason: "mcp.method_not_allowed",
      headers: { allow: "POST" },
    });
  }
  if (message !== undefined) checkMirroredHeaders(request.headers, message, era);

  const token = era === "legacy" ? headerValue(request.headers, "mcp-session-id") : undefined;
  const claims = openSession(context, server, token, caller);
  if (method === "DELETE" && claims === undefined) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", "DELETE ends a session: send the Mcp-Session-Id of the session to end.", { reason: "mcp.session_required" });
  }

  const facts = { protocol_version: protocolVersion ?? "" };
  const operation = message === undefined ? plumbing : classifyMessage(server.name, message);
  const authorizer = request.server.authorizer;
  authorizeMcpOperation(authorizer, exchange, server.name, operation, facts);
  const tool = operation.kind === "use" && operation.resource.kind === "tool" ? operation.resource.name : undefined;
  if (tool !== undefined && !server.quotas.empty) await server.quotas.charge(exchange, tool);

  const abort = abortWhenCallerLeaves(reply);
  exchange.upstream = { provider: server.name, attempts: 1 };
  traceCall(context, exchange, reply, method, message, operation, protocolVersion);
  const answer = await server.upstream.send({
    method,
    era,
    headers: forwardedMcpHeaders(request.headers, method),
    session: claims?.upstream,
    message,
    requestId: exchange.id,
    caller,
    signal: abort.signal,
    longLived: method === "GET" || (message?.kind === "request" && message.method === "subscriptions/listen"),
    onFailure: (error) => exchange.fail(error),
  });

  const upstreamSession = era === "legacy" ? headerValue(answer.headers, "mcp-session-id") : undefined;
  let sessionHeader: string | undefined;
  try {
    sessionHeader =
      upstreamSession === undefined
        ? undefined
        : sealedSessionFor(context, server, upstreamSession, caller, token === undefined || claims === undefined ? undefined : { token, claims });
  } catch (error) {
    answer.body.once("error", () => {});
    answer.body.destroy();
    throw error;
  }
  await answerWithUpstream(reply, answer, {
    server,
    exchange,
    era,
    protocolVersion,
    upstreamSession: upstreamSession ?? claims?.upstream,
    sessionHeader,
    inspection: { decide: itemDecider(authorizer, exchange, server.name, facts), tool, requestId: exchange.id },
    messageId: message?.kind === "request" ? message.id : null,
    maxMessageSize: context.maxMessageSize,
    log: context.log,
  });
}

/**
 * The span of the call to the server, named and attributed after OpenTelemetry's MCP semantic
 * conventions (`tools/call get_ticket`, mcp.method.name, gen_ai.tool.name, ...); it ends when the
 * answer has been relayed, or the caller went away.
 */
function traceCall(
  context: McpContext,
  exchange: FastifyRequest["exchange"],
  reply: FastifyReply,
  method: string,
  message: ClientMessage | undefined,
  operation: McpOperation,
  protocolVersion: string | undefined,
): void {
  if (context.tracer === undefined) return;
  const rpcMethod = message?.kind === "request" || message?.kind === "notification" ? message.method : method === "GET" ? "GET stream" : "DELETE session";
  const target = operation.kind === "use" ? operation.resource.name : undefined;
  const span = startChildSpan(context.tracer, exchange.span, target === undefined ? rpcMethod : `${rpcMethod} ${target}`, SpanKind.CLIENT);
  if (span.isRecording()) {
    span.setAttribute("mcp.method.name", rpcMethod);
    if (protocolVersion !== undefined) span.setAttribute("mcp.protocol.version", protocolVersion);
    if (operation.kind === "use" && operation.resource.kind === "tool") span.setAttribute("gen_ai.tool.name", operation.resource.name);
    if (operation.kind === "use" && operation.resource.kind !== "tool") span.setAttribute("mcp.resource.name", operation.resource.name);
    if (message?.kind === "request") span.setAttribute("jsonrpc.request.id", String(message.id));
    span.setAttribute("tollgate.upstream.provider", exchange.upstream?.provider ?? "");
  }
  reply.raw.once("close", () => {
    if (span.isRecording()) span.setAttribute("http.response.status_code", reply.raw.statusCode);
    span.end();
  });
}

/** The POSTed message, parsed; kept as the request's body so that an error answer can carry its id. */
function parseMessage(request: FastifyRequest): ClientMessage {
  const raw = request.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", "A POST to an MCP endpoint carries one JSON-RPC message (content-type: application/json).", {
      reason: "jsonrpc.parse_error",
    });
  }
  const message = parseClientMessage(raw);
  request.body = message;
  return message;
}


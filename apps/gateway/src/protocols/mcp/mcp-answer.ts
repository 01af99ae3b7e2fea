import type { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Exchange } from "../../gate/exchange.ts";
import { headerValue } from "./forwarded-headers.ts";
import { isObject, type JsonObject, type JsonRpcId } from "./json-rpc.ts";
import { jsonRpcErrorBody } from "./json-rpc-errors.ts";
import type { McpLog, McpServerRoute } from "./mcp-context.ts";
import type { Era } from "./protocol-version.ts";
import { type InspectionContext, inspectServerMessage, type Verdict } from "./server-messages.ts";
import { encodeSseEvent, type SseEvent } from "./sse-parser.ts";
import { SseRelay } from "./sse-relay.ts";
import type { UpstreamReply } from "./upstream/mcp-upstream.ts";

export interface AnswerContext {
  server: McpServerRoute;
  exchange: Exchange;
  era: Era;
  protocolVersion: string | undefined;
  /** The server's session id, for the gateway's own answers to the server. */
  upstreamSession: string | undefined;
  /** The session id the agent gets, when the server named one. */
  sessionHeader: string | undefined;
  inspection: InspectionContext;
  /** The JSON-RPC id of the request being answered (a POSTed request), to answer it if the server fails mid-stream. */
  messageId: JsonRpcId | null;
  maxMessageSize: number;
  log: McpLog;
}

/** The most of an error body from the server that is passed on. */
const maxErrorBody = 64 * 1024;

/**
 * Answers the agent with what the MCP server answered: a 202 as it is; a JSON response inspected (a
 * list filtered, a refused input request turned into an error) and sent; an SSE stream relayed event
 * by event, each inspected as it passes. A server's 4xx is passed on (its JSON-RPC error is the
 * agent's to read); the server refusing the gateway's credentials, a 5xx or a redirect become a 502,
 * which is the operator's problem and says nothing of the server's internals.
 */
export async function answerWithUpstream(reply: FastifyReply, answer: UpstreamReply, context: AnswerContext): Promise<void> {
  const { exchange, server } = context;
  const status = answer.status;
  const contentType = headerValue(answer.headers, "content-type") ?? "";
  if (context.sessionHeader !== undefined) reply.header("mcp-session-id", context.sessionHeader);

  if (status < 200 || status >= 300) {
    exchange.outcome = "upstream_error";
    if (status === 401 || status === 403) {
      discard(answer.body);
      throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${server.name}" refused the gateway's credentials (HTTP ${status}); an operator must fix them.`, {
        reason: "upstream.credentials_rejected",
      });
    }
    if (status < 400 || status >= 500) {
      discard(answer.body);
      throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${server.name}" failed to answer (HTTP ${status}).`, {
        reason: status < 400 ? "upstream.unexpected_status" : "upstream.server_error",
      });
    }
    const body = await readBounded(answer.body, maxErrorBody);
    const allow = headerValue(answer.headers, "allow");
    if (allow !== undefined) reply.header("allow", allow);
    reply.code(status);
    if (contentType !== "") reply.header("content-type", contentType);
    return reply.send(body);
  }

  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (status === 202 || status === 204 || mediaType === "") {
    discard(answer.body);
    return reply.code(status).send();
  }
  if (mediaType === "application/json") return answerJson(reply, answer, context, contentType);
  if (mediaType === "text/event-stream") return answerStream(reply, answer, context);
  discard(answer.body);
  throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${server.name}" answered with an unexpected content type.`, {
    reason: "upstream.unexpected_content_type",
  });
}

async function answerJson(reply: FastifyReply, answer: UpstreamReply, context: AnswerContext, contentType: string): Promise<void> {
  const body = await readBounded(answer.body, context.maxMessageSize, context.server.name);
  const verdict = inspectServerMessage(body.toString("utf8"), context.inspection);
  reply.code(answer.status).header("content-type", contentType);
  switch (verdict.kind) {
    case "pass":
      return reply.send(body);
    case "replace":
      return reply.send(verdict.text);
    case "refuse":
      context.exchange.fail(verdict.error);
      return reply.send(verdict.text);
    case "drop":
      // A JSON answer is the response to the request; a request of the server's in its place is not one.
      throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${context.server.name}" answered with something other than a response.`, {
        reason: "upstream.unexpected_message",
      });
  }
}

function answerStream(reply: FastifyReply, answer: UpstreamReply, context: AnswerContext): FastifyReply {
  const { exchange } = context;
  let answered = false;
  const relay = new SseRelay(context.maxMessageSize, (event) => {
    answered ||= isResponse(event.data);
    return eventBytes(event, context);
  });
  const body = answer.body;
  // Wired by hand, as the LLM path does, for the two ways of ending early:
  body.on("error", (error) => {
    // The agent left first (the relay closed and let go of the body): nothing more to say to anyone.
    if (relay.destroyed) return;
    // The server failed mid-stream (a reset, an idle timeout): its failure, not the agent's leaving.
    exchange.outcome = "upstream_error";
    const failure = new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${context.server.name}" failed before answering this request.`, {
      reason: "upstream.stream_failed",
      cause: error,
    });
    if (answered || context.messageId === null) {
      // Nothing is waiting for an answer (the GET stream), or it came: the stream just ends, in error.
      relay.destroy(failure);
      return;
    }
    // The request was never answered: say so, rather than leave the agent waiting for an answer that
    // cannot come (it would resume the stream, from a server that is gone).
    exchange.fail(failure);
    relay.end(encodeSseEvent({ event: "message", data: JSON.stringify(jsonRpcErrorBody(failure, context.messageId, exchange.id)) }));
  });
  relay.once("error", (error) => {
    if (error.name === "SseEventTooLargeError") {
      exchange.fail(new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${context.server.name}" sent a message larger than the gateway inspects.`, { reason: "mcp.message_too_large" }));
    }
    if (!body.destroyed) body.destroy();
  });
  relay.once("close", () => {
    // The agent left: stop reading, which closes the request to the server.
    if (!body.destroyed && !body.readableEnded) body.destroy();
  });
  body.pipe(relay);
  return reply
    .code(answer.status)
    .headers({ "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" })
    .send(relay);
}

/** Whether an event's data is a JSON-RPC response (judged from its text, without parsing it). */
function isResponse(data: string | undefined): boolean {
  return data !== undefined && !data.includes('"method"') && (data.includes('"result"') || data.includes('"error"'));
}

/** What the agent gets for one SSE event of the server's. */
function eventBytes(event: SseEvent, context: AnswerContext): Buffer | undefined {
  // Only "message" events carry JSON-RPC; others (none are defined) pass as they came.
  if (event.event !== undefined && event.event !== "message") return event.raw;
  const data = event.data ?? "";
  const verdict: Verdict = inspectServerMessage(data, context.inspection);
  switch (verdict.kind) {
    case "pass":
      return event.raw;
    case "replace":
      return encodeSseEvent({ data: verdict.text, id: event.id, event: event.event, retry: event.retry });
    case "refuse":
      context.exchange.fail(verdict.error);
      return encodeSseEvent({ data: verdict.text, id: event.id, event: event.event, retry: event.retry });
    case "drop":
      refused(context, verdict.why, verdict.reasons, verdict.answer);
      return undefined;
  }
}

/** A request of the server's the agent will not see: the server is told, the operator can read why. */
function refused(context: AnswerContext, why: string, reasons: readonly string[], answer: JsonObject | undefined): void {
  context.log.info({ reqId: context.exchange.id, server: context.server.name, why, reasons }, "MCP server message withheld from the agent");
  if (answer === undefined || !isObject(answer)) return;
  void context.server.upstream.answer(context.upstreamSession, context.era, context.protocolVersion, answer);
}

/** Lets go of a body nobody will read (its "aborted" error is expected, not a failure). */
function discard(body: Readable): void {
  body.once("error", () => {});
  body.destroy();
}

/** Reads a body up to `limit` bytes; past it, fails (a list too large to inspect is not passed unfiltered). */
async function readBounded(body: Readable, limit: number, server?: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      discard(body);
      if (server === undefined) break;
      throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${server}" answered with a message larger than the gateway inspects.`, {
        reason: "mcp.message_too_large",
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

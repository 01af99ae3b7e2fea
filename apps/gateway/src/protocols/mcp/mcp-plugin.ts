import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { asTollgateError, TollgateError } from "../../errors/tollgate-error.ts";
import { errorReply } from "../../gate/error-reply.ts";
import { headerValue } from "./forwarded-headers.ts";
import { jsonRpcErrorBody, jsonRpcErrorStatus } from "./json-rpc-errors.ts";
import { type ClientMessage, idOf } from "./json-rpc.ts";
import type { McpContext } from "./mcp-context.ts";
import { handleMcpRequest } from "./mcp-handler.ts";

/**
 * The MCP protocol module: Streamable HTTP for agents at /mcp/{server}, both generations of the
 * transport, in front of the configured MCP servers. It knows MCP's wire format (JSON-RPC, sessions,
 * SSE, which methods name what); the gate stages it calls know nothing of it. Every error it answers
 * is a JSON-RPC error response.
 */
export const mcpPlugin: FastifyPluginCallback<McpContext> = (fastify, context, done) => {
  // JSON only (anything else is 415), kept as bytes: the handler parses it, once it knows the route
  // is an MCP endpoint and the method a POST.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: context.bodyLimit }, (_request, raw, parsed) => {
    parsed(null, raw);
  });

  fastify.addHook("onRequest", (request, _reply, next) => {
    request.exchange.protocol = "mcp";
    next();
  });

  fastify.setErrorHandler((error, request, reply) => {
    sendMcpError(request, reply, asTollgateError(error));
  });

  fastify.setNotFoundHandler((request, reply) => {
    const path = request.exchange.path;
    const served = /^\/mcp\/[^/]+\/?$/.test(path);
    const error = served
      ? new TollgateError("TG_ERR_METHOD_NOT_ALLOWED", `${request.method} is not a method of the MCP endpoint; it takes POST, GET and DELETE.`, {
          reason: "mcp.method_not_allowed",
          headers: { allow: "POST, GET, DELETE" },
        })
      : new TollgateError("TG_ERR_UNCLASSIFIED", `${request.method} ${path} is not an MCP endpoint; MCP servers are at /mcp/{server}.`, {
          reason: "route.unclassified",
        });
    sendMcpError(request, reply, error);
  });

  fastify.route({
    method: ["POST", "GET", "DELETE"],
    url: "/:server",
    handler: (request, reply) => handleMcpRequest(context, request, reply),
  });
  done();
};

function sendMcpError(request: FastifyRequest, reply: FastifyReply, error: TollgateError): void {
  const exchange = request.exchange;
  // Set here too: a request refused by an earlier stage (authentication) never reached this module's hook.
  exchange.protocol = "mcp";
  const shaped = errorReply(request, reply, error);
  if (shaped === undefined) return;
  const id = isClientMessage(request.body) ? idOf(request.body) : null;
  void shaped
    .code(jsonRpcErrorStatus(error, id))
    .header("content-type", "application/json")
    .send(jsonRpcErrorBody(error, id, exchange.id, headerValue(request.headers, "mcp-protocol-version")));
}

function isClientMessage(body: unknown): body is ClientMessage {
  return typeof body === "object" && body !== null && "kind" in body && "raw" in body && Buffer.isBuffer((body as ClientMessage).raw);
}

import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { asTollgateError, TollgateError } from "../../errors/tollgate-error.ts";
import { errorReply } from "../../gate/error-reply.ts";
import { callAccount } from "./account-call.ts";
import { errorBody, type ErrorFormat } from "./error-formats.ts";
import { parseJsonBody } from "./json-body.ts";
import type { LlmContext } from "./llm-context.ts";
import { callModel } from "./model-call.ts";
import { listModels } from "./model-catalogue.ts";
import { type LlmOperation, llmOperations } from "./operations.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    llmOperation?: LlmOperation;
  }
}

/**
 * The LLM protocol module: OpenAI's API (and Anthropic's Messages API) for agents. It registers one
 * route per classified operation; anything else under /v1 is answered 404 without being forwarded.
 * It knows the wire formats (bodies, errors, usage); the gate stages it calls know nothing of them.
 */
export const llmPlugin: FastifyPluginCallback<LlmContext> = (fastify, context, done) => {
  fastify.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: context.bodyLimit }, (_request, raw, parsed) => {
    try {
      parsed(null, parseJsonBody(raw as Buffer));
    } catch (error) {
      parsed(error as Error, undefined);
    }
  });
  // Uploads stream through to the provider; the upload limit is enforced while they pass.
  fastify.addContentTypeParser("multipart/form-data", { bodyLimit: context.uploadLimit }, (_request, payload, parsed) => {
    parsed(null, payload);
  });

  fastify.addHook("onRequest", (request, _reply, next) => {
    request.exchange.protocol = "llm";
    request.exchange.target = context.target;
    next();
  });

  fastify.setErrorHandler((error, request, reply) => {
    sendError(request, reply, asTollgateError(error), request.routeOptions.config.llmOperation?.errors ?? "openai");
  });

  fastify.setNotFoundHandler((request, reply) => {
    const error = new TollgateError(
      "TG_ERR_UNCLASSIFIED",
      `${request.method} ${request.exchange.path} is not an operation this gateway forwards.`,
      { reason: "route.unclassified" },
    );
    sendError(request, reply, error, notFoundFormat(request.exchange.path));
  });

  for (const operation of llmOperations) {
    fastify.route({
      method: operation.method,
      // Registered under the /v1 prefix, so that this module's not-found handler covers /v1/* alone.
      url: operation.url.slice("/v1".length),
      config: { llmOperation: operation },
      handler: (request, reply) => {
        switch (operation.routing) {
          case "model":
            return callModel(context, operation, request, reply);
          case "account":
            return callAccount(context, operation, request, reply);
          case "catalogue":
            return listModels(context, request, reply);
        }
      },
    });
  }
  done();
};

function sendError(request: FastifyRequest, reply: FastifyReply, error: TollgateError, format: ErrorFormat): void {
  void errorReply(request, reply, error)?.send(errorBody(format, error, request.exchange.id));
}

/** Anthropic's clients call paths below /v1/messages (count_tokens, batches): answer them in their format. */
function notFoundFormat(path: string): ErrorFormat {
  return path === "/v1/messages" || path.startsWith("/v1/messages/") ? "anthropic" : "openai";
}

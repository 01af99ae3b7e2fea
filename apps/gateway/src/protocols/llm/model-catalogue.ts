import type { FastifyReply, FastifyRequest } from "fastify";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { LlmContext } from "./llm-context.ts";

/** A fixed creation time for listed models: the gateway does not know when a provider made them. */
const listedAt = Math.floor(Date.UTC(2026, 0, 1) / 1000);

/**
 * GET /v1/models and GET /v1/models/{model}: the models the caller may use, asked of the policy one by
 * one (action `list`), so an agent never learns of a model it could not call. Answers in Anthropic's
 * list format when the caller speaks Anthropic's API (it sends `anthropic-version`), else OpenAI's.
 */
export function listModels(context: LlmContext, request: FastifyRequest, reply: FastifyReply): Promise<void> | FastifyReply {
  const exchange = request.exchange;
  const authorizer = request.server.authorizer;
  const anthropic = typeof request.headers["anthropic-version"] === "string";
  const wanted = (request.params as { model?: string }).model;

  authorizer.authorize(exchange, { kind: "model", name: wanted ?? "", action: "list" }, {});
  const visible =
    wanted === undefined
      ? context.routes.names().filter((name) => authorizer.decide(exchange, { kind: "model", name, action: "list" }, {}).allow)
      : context.routes.has(wanted)
        ? [wanted]
        : [];

  if (wanted !== undefined) {
    if (visible.length === 0) {
      throw new TollgateError("TG_ERR_UNKNOWN_MODEL", `The model "${wanted}" does not exist or you do not have access to it.`, {
        param: "model",
        reason: "route.unknown_model",
      });
    }
    return reply.send(anthropic ? anthropicModel(wanted) : openaiModel(wanted, context.routes.ownedBy(wanted)));
  }
  if (anthropic) {
    const data = visible.map(anthropicModel);
    return reply.send({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  }
  return reply.send({ object: "list", data: visible.map((name) => openaiModel(name, context.routes.ownedBy(name))) });
}

function openaiModel(id: string, ownedBy: string) {
  return { id, object: "model", created: listedAt, owned_by: ownedBy };
}

function anthropicModel(id: string) {
  return { id, type: "model", display_name: id, created_at: new Date(listedAt * 1000).toISOString() };
}

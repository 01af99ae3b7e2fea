import type { FastifyReply, FastifyRequest } from "fastify";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Deployment } from "../../upstream/model-routes.ts";
import type { LlmContext } from "./llm-context.ts";
import { isJsonBody, type JsonBody } from "./json-body.ts";
import type { LlmOperation } from "./operations.ts";
import { forwardedHeaders } from "./passthrough-headers.ts";
import { outputCapField, requestFacts, requireModel } from "./request-facts.ts";
import { startGenAiSpan } from "./gen-ai-span.ts";
import { replyWithUpstream } from "./upstream-reply.ts";

/**
 * A call to a model (chat, responses, messages, embeddings): classify it from the body, ask the
 * policy, route it to the model's deployments, and stream the answer back.
 */
export async function callModel(
  context: LlmContext,
  operation: LlmOperation,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const body = requireJson(request.body);
  const model = requireModel(body.json);
  const exchange = request.exchange;
  const decision = request.server.authorizer.authorize(
    exchange,
    { kind: "model", name: model, action: operation.action },
    requestFacts(operation.api, body.json),
  );

  if (!context.routes.has(model)) {
    throw new TollgateError("TG_ERR_UNKNOWN_MODEL", `The model "${model}" is not available through this gateway.`, {
      param: "model",
      reason: "route.unknown_model",
    });
  }
  const plan = context.routes.plan(model, operation.api);
  if (plan.length === 0) {
    const apis = context.routes.apis(model);
    throw new TollgateError(
      "TG_ERR_NO_DEPLOYMENT",
      `The model "${model}" cannot be called through ${operation.url}; its deployments serve: ${apis.join(", ") || "nothing"}.`,
      { param: "model", reason: "route.api_not_served" },
    );
  }

  const cap = decision.obligations.max_output_tokens;
  const capField = outputCapField(operation.api, body.json);
  const span = startGenAiSpan(context.tracer, exchange, operation.api, model, capField && body.json[capField]);
  const abort = abortOnClientGone(reply);
  const answer = await context.client
    .send({
      plan,
      api: operation.api,
      method: operation.method,
      subpath: operation.url.slice(3),
      search: "",
      headers: forwardedHeaders(request.headers, false),
      body: bodyFor(body, model, capField, typeof cap === "number" ? cap : undefined),
      signal: abort.signal,
    })
    .catch((error: unknown) => {
      span.end();
      throw error;
    });
  await replyWithUpstream(reply, exchange, operation.api, answer, span);
}

export function requireJson(body: unknown): JsonBody {
  if (!isJsonBody(body)) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", "This endpoint takes a JSON body (content-type: application/json).", {
      reason: "request.not_json",
    });
  }
  return body;
}

/**
 * The bytes to send to a deployment: the caller's own, unless the deployment knows the model by
 * another name or the policy capped the output, in which case the body is rewritten (once per
 * distinct model name).
 */
function bodyFor(
  body: JsonBody,
  model: string,
  capField: string | undefined,
  cap: number | undefined,
): Buffer | ((deployment: Deployment) => Buffer) {
  const requested = capField === undefined ? undefined : body.json[capField];
  const mustCap = cap !== undefined && capField !== undefined && !(typeof requested === "number" && requested <= cap);
  const anyAlias = (d: Deployment) => d.model !== model;
  if (!mustCap) {
    return (deployment: Deployment) => (anyAlias(deployment) ? rewrite(body, deployment.model, undefined, undefined) : body.raw);
  }
  return (deployment: Deployment) => rewrite(body, deployment.model, capField, cap);
}

function rewrite(body: JsonBody, model: string, capField: string | undefined, cap: number | undefined): Buffer {
  const json: Record<string, unknown> = { ...body.json, model };
  if (capField !== undefined && cap !== undefined) json[capField] = cap;
  return Buffer.from(JSON.stringify(json));
}

/** Aborts the upstream request when the caller goes away before its response is complete. */
export function abortOnClientGone(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  const response = reply.raw;
  response.once("close", () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller;
}

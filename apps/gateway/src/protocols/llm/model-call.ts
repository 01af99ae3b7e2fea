import type { FastifyReply, FastifyRequest } from "fastify";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Exchange } from "../../gate/exchange.ts";
import type { Deployment } from "../../upstream/model-routes.ts";
import { abortWhenCallerLeaves } from "../../upstream/abort-when-caller-leaves.ts";
import { deploymentBody } from "./deployment-body.ts";
import { failGenAiSpan, startGenAiSpan } from "./gen-ai-span.ts";
import { isJsonBody, type JsonBody } from "./json-body.ts";
import type { LlmContext } from "./llm-context.ts";
import type { LlmOperation } from "./operations.ts";
import { forwardedHeaders } from "./passthrough-headers.ts";
import { promptParts } from "./prompt-parts.ts";
import { requestedOutputCap, requestFacts, requireModel } from "./request-facts.ts";
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

  // Budgets: reserve the worst case (the prompt as counted, and the output allowed) before forwarding.
  const requestedCap = requestedOutputCap(operation.api, body.json);
  const policyCap = decision.obligations.max_output_tokens;
  const budgets = request.server.budgets;
  const hold = await budgets.reserve(exchange, {
    model,
    provider: plan[0]?.provider.name,
    prompt: promptParts(operation.api, body.json),
    maxOutputTokens: minDefined(requestedCap, policyCap),
    producesOutput: operation.api !== "embeddings",
    obligations: decision.obligations.budgets,
  });
  void reply.headers(budgets.headers(hold));
  // The output cap sent to the provider: the policy's, or, when budgets hold for a request that set
  // none, the output that was reserved, so the provider itself never generates more than was reserved.
  const cap = policyCap ?? (hold.counters.length > 0 && requestedCap === undefined && operation.api !== "embeddings" ? hold.estimate.outputTokens : undefined);
  // A streamed chat completion reports usage only when asked: ask, and hide the answer if the caller did not.
  const streamOptions = body.json.stream_options as { include_usage?: unknown } | undefined;
  const askUsage = operation.api === "chat" && body.json.stream === true && streamOptions?.include_usage !== true;
  const extra = askUsage ? { stream_options: { ...(typeof streamOptions === "object" ? streamOptions : {}), include_usage: true } } : undefined;
  const span = startGenAiSpan(context.tracer, exchange, operation.api, model, requestedCap);
  const abort = abortWhenCallerLeaves(reply);
  const answer = await context.client
    .send({
      plan,
      api: operation.api,
      method: operation.method,
      subpath: operation.url.slice("/v1".length),
      search: "",
      headers: forwardedHeaders(request.headers, false),
      body: deploymentBody(body, model, operation.api, cap, extra),
      signal: abort.signal,
      onAttempt: recordAttempt(exchange),
    })
    .catch((error: unknown) => {
      failGenAiSpan(span, error);
      throw error;
    });
  await replyWithUpstream(reply, exchange, operation.api, answer, span, {
    stripUsage: askUsage,
    hardStopAt: budgets.hardStopAt(hold),
    countOutput: (text) => budgets.tokens.countShort(text, model),
    estimatedInput: () => budgets.inputTokens(hold),
  });
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
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
 * Keeps the exchange's upstream record current attempt by attempt, so that a request that fails on
 * every attempt still logs (and audits) where it went and how often it was tried.
 */
export function recordAttempt(exchange: Exchange): (deployment: Deployment, attempt: number) => void {
  return (deployment, attempt) => {
    exchange.upstream = {
      provider: deployment.provider.name,
      attempts: attempt,
      ...(deployment.model === "" ? {} : { model: deployment.model }),
    };
  };
}

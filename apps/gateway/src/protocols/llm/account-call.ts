import { Transform, type TransformCallback } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { TollgateError } from "../../errors/tollgate-error.ts";
import type { Deployment } from "../../upstream/model-routes.ts";
import type { Provider } from "../../upstream/provider.ts";
import { failGenAiSpan, startGenAiSpan } from "./gen-ai-span.ts";
import type { LlmContext } from "./llm-context.ts";
import { abortWhenCallerLeaves } from "../../upstream/abort-when-caller-leaves.ts";
import { recordAttempt, requireJson } from "./model-call.ts";
import type { LlmOperation } from "./operations.ts";
import { forwardedHeaders } from "./passthrough-headers.ts";
import { requestFacts, requireModel } from "./request-facts.ts";
import { replyWithUpstream } from "./upstream-reply.ts";

/**
 * Provider object ids (file-abc, ftjob-abc, batch_abc): anything else is refused, never sent on. An id
 * starts with a letter or digit, so "." and ".." (which a provider would resolve as a path) never pass.
 */
const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$/;

/**
 * An account-level call (files, fine-tuning jobs, batches): authorized as its own action, sent to the
 * account provider. Uploads are streamed through without being buffered, within the upload limit.
 */
export async function callAccount(
  context: LlmContext,
  operation: LlmOperation,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const params = request.params as Record<string, string | undefined>;
  if (params.id !== undefined && !idPattern.test(params.id)) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", `"${params.id.slice(0, 64)}" is not a valid object id.`, {
      param: "id",
      reason: "request.invalid_id",
    });
  }
  const provider = context.accountProvider;
  const json = operation.body === "json" ? requireJson(request.body) : undefined;
  const model = operation.modelField !== undefined && json !== undefined ? requireModel(json.json, operation.modelField) : "";
  const exchange = request.exchange;
  const decision = request.server.authorizer.authorize(
    exchange,
    { kind: "model", name: model, action: operation.action, ...(provider === undefined ? {} : { provider: provider.name }) },
    requestFacts(operation.api, json?.json),
  );
  if (provider === undefined || !provider.serves(operation.api)) {
    throw new TollgateError("TG_ERR_NO_DEPLOYMENT", `No provider behind this gateway serves ${operation.url}.`, {
      reason: "route.api_not_served",
    });
  }
  // Account operations carry no tokens when they are made; they count as requests on the budgets that apply.
  const hold = await request.server.budgets.reserve(exchange, {
    model: model === "" ? undefined : model,
    provider: provider.name,
    producesOutput: false,
    obligations: decision.obligations.budgets,
  });
  void reply.headers(request.server.budgets.headers(hold));

  const query = request.url.indexOf("?");
  const upload = operation.body === "upload";
  // Made before the span starts: an upload refused here must not leave a span open.
  const body = upload ? uploadBody(request, context.uploadLimit) : json?.raw;
  const span = startGenAiSpan(context.tracer, exchange, operation.api, model === "" ? undefined : model, undefined);
  const answer = await context.client
    .send({
      plan: accountPlan(context, provider),
      api: operation.api,
      method: operation.method,
      subpath: classifiedSubpath(operation, params.id),
      search: query === -1 ? "" : request.url.slice(query),
      headers: forwardedHeaders(request.headers, upload),
      body,
      signal: abortWhenCallerLeaves(reply).signal,
      onAttempt: recordAttempt(exchange),
    })
    .catch((error: unknown) => {
      failGenAiSpan(span, error);
      throw error;
    });
  const budgets = request.server.budgets;
  const starts = operation.action === "batch.create" || operation.action === "fine_tune.create";
  await replyWithUpstream(reply, exchange, operation.api, answer, span, {
    // Batches and fine-tuning jobs report their tokens when they end: remember who started one, and
    // charge its tokens to that caller's budgets the first time the gateway sees it ended.
    onFacts: (facts) => {
      for (const job of facts.jobs ?? []) {
        if (starts) budgets.rememberJob(exchange, job, { model: model === "" ? undefined : model, provider: provider.name, obligations: decision.obligations.budgets });
        budgets.chargeJob(job);
      }
    },
  });
}

const accountPlans = new WeakMap<LlmContext, readonly Deployment[]>();

/** The account provider as a one-deployment plan, made once per gateway rather than per request. */
function accountPlan(context: LlmContext, provider: Provider): readonly Deployment[] {
  let plan = accountPlans.get(context);
  if (plan === undefined) {
    const timeout = context.accountTimeoutMs;
    plan = [{ provider, model: "", weight: 1, timeoutMs: timeout, idleTimeoutMs: timeout }];
    accountPlans.set(context, plan);
  }
  return plan;
}

/**
 * The path sent upstream, made from the operation that was classified and authorized rather than from
 * the caller's raw path, so that what reaches the provider is exactly what the policy allowed.
 */
function classifiedSubpath(operation: LlmOperation, id: string | undefined): string {
  const subpath = operation.url.slice("/v1".length);
  // idPattern admits only characters that are literal in a path segment.
  return id === undefined ? subpath : subpath.replace(":id", id);
}

/** The raw multipart stream of an upload, cut off with a 413 past the limit. */
function uploadBody(request: FastifyRequest, limit: number): Transform {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    throw new TollgateError("TG_ERR_BODY_TOO_LARGE", `The upload is larger than this gateway accepts (${limit} bytes).`, {
      reason: "request.upload_too_large",
    });
  }
  if (!(request.headers["content-type"] ?? "").startsWith("multipart/form-data")) {
    throw new TollgateError("TG_ERR_BAD_REQUEST", "File uploads are multipart/form-data.", { reason: "request.not_multipart" });
  }
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) {
        callback(new TollgateError("TG_ERR_BODY_TOO_LARGE", `The upload is larger than this gateway accepts (${limit} bytes).`));
        return;
      }
      callback(null, chunk);
    },
  });
  return request.raw.pipe(counter);
}

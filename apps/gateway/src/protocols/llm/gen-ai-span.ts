import { type Span, SpanKind, type Tracer } from "@opentelemetry/api";
import type { LlmApi } from "../../config/schema.ts";
import type { Exchange } from "../../gate/exchange.ts";
import { startChildSpan } from "../../telemetry/tracing.ts";
import type { Deployment } from "../../upstream/model-routes.ts";
import type { ResponseFacts } from "./usage.ts";

const operationNames: Partial<Record<LlmApi, string>> = {
  chat: "chat",
  responses: "chat",
  messages: "chat",
  embeddings: "embeddings",
};

/**
 * The upstream span of an LLM call, named and attributed after OpenTelemetry's GenAI semantic
 * conventions (`chat gpt-4o-mini`, gen_ai.request.model, gen_ai.usage.input_tokens, ...), so GenAI
 * dashboards read Tollgate's traces without mapping.
 */
export function startGenAiSpan(tracer: Tracer, exchange: Exchange, api: LlmApi, model: string | undefined, maxTokens: unknown): Span {
  const operation = operationNames[api] ?? api;
  const span = startChildSpan(tracer, exchange.span, model === undefined ? operation : `${operation} ${model}`, SpanKind.CLIENT);
  if (!span.isRecording()) return span;
  span.setAttribute("gen_ai.operation.name", operation);
  if (model !== undefined) span.setAttribute("gen_ai.request.model", model);
  if (typeof maxTokens === "number") span.setAttribute("gen_ai.request.max_tokens", maxTokens);
  return span;
}

export function recordDeployment(span: Span, deployment: Deployment, attempts: number): void {
  if (!span.isRecording()) return;
  span.setAttribute("gen_ai.provider.name", deployment.provider.genAiName);
  span.setAttribute("tollgate.upstream.provider", deployment.provider.name);
  span.setAttribute("tollgate.upstream.attempts", attempts);
}

export function endGenAiSpan(span: Span, status: number, facts: ResponseFacts | undefined): void {
  if (span.isRecording()) {
    span.setAttribute("http.response.status_code", status);
    if (facts?.model !== undefined) span.setAttribute("gen_ai.response.model", facts.model);
    if (facts?.id !== undefined) span.setAttribute("gen_ai.response.id", facts.id);
    if (facts?.finishReasons !== undefined) span.setAttribute("gen_ai.response.finish_reasons", facts.finishReasons);
    if (facts?.usage !== undefined) {
      span.setAttribute("gen_ai.usage.input_tokens", facts.usage.input);
      span.setAttribute("gen_ai.usage.output_tokens", facts.usage.output);
      if (facts.usage.cachedInput !== undefined) span.setAttribute("gen_ai.usage.cache_read.input_tokens", facts.usage.cachedInput);
    }
    if (status >= 400) span.setAttribute("error.type", String(status));
  }
  span.end();
}

/** Ends the span of a call that got no answer to pass on (every attempt failed, or the caller left). */
export function failGenAiSpan(span: Span, error: unknown): void {
  if (span.isRecording()) {
    const status = (error as { status?: unknown } | null)?.status;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof status === "number") span.setAttribute("http.response.status_code", status);
    span.setAttribute("error.type", typeof code === "string" ? code : "_OTHER");
  }
  span.end();
}

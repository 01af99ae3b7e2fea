import { isSpanContextValid, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type { FastifyPluginCallback } from "fastify";
import fp from "fastify-plugin";
import type { Exchange } from "../gate/exchange.ts";
import { resourceLabel } from "../gate/resource.ts";
import type { Logger } from "./logger.ts";
import { startRequestSpan } from "./tracing.ts";

export interface TelemetryStageOptions {
  tracer: Tracer;
  logger: Logger;
}

/**
 * Opens the request's root span when it arrives and, when the exchange finishes, closes the span and
 * writes one structured log line with the request id, the caller's SPIFFE ID and the decision.
 */
const telemetryStage: FastifyPluginCallback<TelemetryStageOptions> = (fastify, { tracer, logger }, done) => {
  fastify.addHook("onRequest", (request, _reply, next) => {
    request.exchange.span = startRequestSpan(tracer, `${request.method} ${request.routeOptions.url ?? "unmatched"}`, request.headers);
    next();
  });
  fastify.onExchangeFinished((exchange) => {
    endRootSpan(exchange);
    logExchange(logger, exchange);
  });
  done();
};

function endRootSpan(exchange: Exchange): void {
  const span = exchange.span;
  if (span === undefined || !span.isRecording()) return;
  span.setAttributes({
    "http.request.method": exchange.method,
    "url.path": exchange.path,
    "http.response.status_code": exchange.status,
    "tollgate.request_id": exchange.id,
    "tollgate.outcome": exchange.outcome ?? "unknown",
  });
  if (exchange.caller !== undefined) span.setAttribute("tollgate.caller", exchange.caller.id.uri);
  if (exchange.resource !== undefined) span.setAttribute("tollgate.resource", resourceLabel(exchange.resource));
  if (exchange.decision !== undefined) span.setAttribute("tollgate.decision", exchange.decision.allow ? "allow" : "deny");
  if (exchange.error !== undefined) {
    span.setAttribute("error.type", exchange.error.code);
    if (exchange.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: exchange.error.code });
  }
  span.end();
}

function logExchange(logger: Logger, exchange: Exchange): void {
  const level = exchange.outcome === "error" ? "error" : exchange.status >= 500 ? "warn" : "info";
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      reqId: exchange.id,
      traceId: traceIdOf(exchange),
      protocol: exchange.protocol,
      method: exchange.method,
      path: exchange.path,
      status: exchange.status,
      outcome: exchange.outcome,
      caller: exchange.caller?.id.uri,
      target: exchange.target,
      resource: exchange.resource,
      decision: exchange.decision === undefined ? undefined : exchange.decision.allow ? "allow" : "deny",
      reasons: exchange.decision?.reasons,
      policyRevision: exchange.decision?.revision,
      upstream: exchange.upstream,
      usage: exchange.usage,
      costMicroUsd: exchange.cost?.microUsd,
      error: exchange.error === undefined ? undefined : { code: exchange.error.code, reason: exchange.error.reason },
      durationMs: Math.round(exchange.durationMs * 1000) / 1000,
    },
    "request",
  );
}

/**
 * The trace the request's spans belong to. Read from the span's context, which outlives the span: the
 * root span has already ended when the log line is written, so "is it recording?" would always say no.
 * Without tracing the span is a no-op that keeps the caller's trace context when it sent one (so the
 * line still joins the caller's trace) and has an invalid one otherwise (so the line has no traceId).
 */
function traceIdOf(exchange: Exchange): string | undefined {
  const context = exchange.span?.spanContext();
  return context !== undefined && isSpanContextValid(context) ? context.traceId : undefined;
}

export default fp(telemetryStage, { name: "tollgate-telemetry", dependencies: ["tollgate-exchange"], fastify: "5.x" });

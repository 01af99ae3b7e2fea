/**
 * What the demo provider does around every request, whatever the endpoint: record it, authenticate
 * it as the provider it speaks to would, apply a queued fault, notice a client that goes away, and
 * answer errors and unknown routes in the provider's own format.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { FaultQueue } from "./demo-faults.ts";
import { attachExchange, exchangeOf, findExchange, type DemoExchange } from "./demo-exchange.ts";
import type { IdSource } from "./demo-ids.ts";
import { applyFault } from "./fault-injection.ts";
import { authenticationError, type ProviderKeys } from "./provider-auth.ts";
import { asProviderError, ProviderError, providerErrorBody, type ProviderFamily } from "./provider-error.ts";
import type { RequestLog } from "./request-log.ts";

export interface LifecycleDependencies {
  readonly log: RequestLog;
  readonly faults: FaultQueue;
  readonly ids: IdSource;
  readonly keys: ProviderKeys;
}

const anthropicPath = "/v1/messages";

/** Anthropic's Messages API lives under /v1/messages; every other path is OpenAI's. */
export function familyOf(url: string): ProviderFamily {
  if (!url.startsWith(anthropicPath)) return "openai";
  const next = url[anthropicPath.length];
  return next === undefined || next === "/" || next === "?" ? "anthropic" : "openai";
}

export function installRequestLifecycle(app: FastifyInstance, dependencies: LifecycleDependencies): void {
  const { log, faults, ids, keys } = dependencies;

  app.addHook("onRequest", (request, reply, done) => {
    const family = familyOf(request.url);
    const exchange: DemoExchange = {
      record: log.open(request.method, request.url, request.headers, family),
      requestId: ids.next("req_"),
      stallAfter: undefined,
      resetByProvider: false,
    };
    attachExchange(request, exchange);
    reply.header(family === "anthropic" ? "request-id" : "x-request-id", exchange.requestId);
    reply.raw.once("close", () => {
      const outcome = reply.raw.writableFinished ? "completed" : exchange.resetByProvider ? "reset" : "aborted";
      log.finish(exchange.record, outcome);
    });
    const error = authenticationError(family, request.headers, keys);
    if (error === undefined) {
      done();
      return;
    }
    log.announce(exchange.record);
    reply.code(error.status).send(providerErrorBody(family, error, exchange.requestId));
  });

  app.addHook("preHandler", (request, reply, done) => {
    const exchange = exchangeOf(request);
    if (isJson(request)) exchange.record.body = request.body;
    log.announce(exchange.record);
    const fault = request.is404 ? undefined : faults.take(request.method, exchange.record.path);
    if (fault === undefined) {
      done();
      return;
    }
    applyFault(fault, exchange, request, reply).then(
      (result) => {
        if (result === "continue") done();
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  });

  app.setErrorHandler((error, request, reply) => {
    const exchange = findExchange(request);
    const family = exchange?.record.family ?? familyOf(request.url);
    const providerError = asProviderError(error);
    if (providerError.status >= 500) request.log.error({ err: error }, "the demo provider failed to answer");
    if (exchange !== undefined) log.announce(exchange.record);
    reply.code(providerError.status).send(providerErrorBody(family, providerError, exchange?.requestId ?? ""));
  });

  app.setNotFoundHandler((request, reply) => {
    const exchange = exchangeOf(request);
    const { family, path } = exchange.record;
    const error =
      family === "anthropic"
        ? new ProviderError(404, `Not found: ${request.method} ${path}`)
        : new ProviderError(404, `Invalid URL (${request.method} ${path})`);
    reply.code(404).send(providerErrorBody(family, error, exchange.requestId));
  });
}

function isJson(request: FastifyRequest): boolean {
  return request.body !== undefined && (request.headers["content-type"] ?? "").includes("json");
}

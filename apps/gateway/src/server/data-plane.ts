import type { Tracer } from "@opentelemetry/api";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server as HttpsServer, ServerOptions as HttpsOptions } from "node:https";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from "fastify";
import type { Config } from "../config/schema.ts";
import { errorReply } from "../gate/error-reply.ts";
import exchangeStage from "../gate/exchange-stage.ts";
import identityStage from "../identity/identity-stage.ts";
import { asTollgateError, TollgateError } from "../errors/tollgate-error.ts";
import budgetStage, { type BudgetStageOptions } from "../budget/budget-stage.ts";
import authorizeStage from "../policy/authorize-stage.ts";
import auditStage from "../audit/audit-stage.ts";
import type { AuditRecorder } from "../audit/audit-recorder.ts";
import type { PolicyEngine } from "../policy/engine.ts";
import { errorBody } from "../protocols/llm/error-formats.ts";
import { llmPlugin } from "../protocols/llm/llm-plugin.ts";
import type { LlmContext } from "../protocols/llm/llm-context.ts";
import type { McpContext } from "../protocols/mcp/mcp-context.ts";
import { mcpPlugin } from "../protocols/mcp/mcp-plugin.ts";
import type { Logger } from "../telemetry/logger.ts";
import telemetryStage from "../telemetry/telemetry-stage.ts";

export interface DataPlaneOptions {
  config: Config;
  tls: HttpsOptions;
  logger: Logger;
  tracer: Tracer;
  engine: PolicyEngine;
  llm: LlmContext;
  budgets: BudgetStageOptions;
  /** Records every exchange in the audit trail; undefined when audit.enabled is false. */
  audit?: AuditRecorder | undefined;
  mcp: McpContext;
}

/**
 * The mTLS listener agents call. The gate stages are registered in pipeline order (exchange, telemetry,
 * identity, authorize), then the protocol modules, each under its own prefix with its own error format.
 */
export type DataPlane = FastifyInstance<HttpsServer, IncomingMessage, ServerResponse, FastifyBaseLogger>;

export function createDataPlane(options: DataPlaneOptions): DataPlane {
  const { config } = options;
  const app = Fastify({
    https: options.tls,
    loggerInstance: options.logger as FastifyBaseLogger,
    // One log line per request comes from the exchange's finisher, with the caller and the decision.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.body_limit,
    keepAliveTimeout: config.server.keep_alive_timeout,
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    // Agents send paths such as /v1/chat/completions/ rarely, but SDKs do vary on trailing slashes.
    routerOptions: { ignoreTrailingSlash: true },
    // A URL Fastify cannot route (bad percent-encoding, an over-long parameter) is refused before any
    // hook runs; it still gets an exchange, so it is answered in OpenAI's format and recorded.
    frameworkErrors: (thrown, request, untypedReply) => {
      const reply = untypedReply as FastifyReply;
      const exchange = app.openExchange(request as FastifyRequest, reply);
      const error = new TollgateError("TG_ERR_BAD_REQUEST", `The request URL is malformed: ${thrown.message}`, { reason: "request.malformed_url" });
      exchange.fail(error);
      void reply.code(error.status).send(errorBody("openai", error, exchange.id));
    },
  });

  app.register(exchangeStage, { defaultProtocol: "llm" });
  app.register(telemetryStage, { tracer: options.tracer, logger: options.logger });
  app.register(identityStage, { tracer: options.tracer });
  app.register(authorizeStage, { engine: options.engine, tracer: options.tracer });
  if (options.audit !== undefined) app.register(auditStage, { recorder: options.audit });
  app.register(budgetStage, options.budgets);
  app.register(llmPlugin, { ...options.llm, prefix: "/v1" });
  app.register(mcpPlugin, { ...options.mcp, tracer: options.tracer, prefix: "/mcp" });

  // Outside every protocol's prefix: answered in OpenAI's format, the most common client's.
  app.setNotFoundHandler((request, reply) => {
    const error = new TollgateError("TG_ERR_UNCLASSIFIED", `${request.method} ${request.exchange.path} is not an operation this gateway forwards.`, {
      reason: "route.unclassified",
    });
    void errorReply(request, reply, error)?.send(errorBody("openai", error, request.exchange.id));
  });
  app.setErrorHandler((thrown, request, reply) => {
    const error = asTollgateError(thrown);
    void errorReply(request, reply, error)?.send(errorBody("openai", error, request.exchange.id));
  });
  return app;
}

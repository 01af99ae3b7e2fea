import { Readable } from "node:stream";
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { exportAudit, searchAudit, CursorError, type AuditSearch } from "../../audit/audit-search.ts";
import type { AuditService } from "../../audit/audit-service.ts";
import { verifyAuditChains } from "../../audit/audit-verify.ts";
import { spendDimensions, spendReport } from "../../audit/spend-report.ts";
import type { BudgetAdmin, BudgetLimitValues } from "../../budget/budget-admin.ts";
import { parseUsdToMicros } from "../../budget/pricing.ts";
import { asTollgateError, TollgateError } from "../../errors/tollgate-error.ts";
import { errorReply } from "../../gate/error-reply.ts";
import type { AdminResource } from "../../gate/resource.ts";
import type { PolicyEngine } from "../../policy/engine.ts";
import { adminErrorBody } from "./admin-error.ts";
import { badQuery, integer, oneOf, type QueryValues, text, timeRange } from "./admin-query.ts";
import { spendCsv } from "./spend-csv.ts";

export interface AdminContext {
  /** The SPIFFE ID policies see as `input.target` for admin requests. */
  target: string;
  audit: AuditService | undefined;
  budgets: BudgetAdmin | undefined;
  engine: PolicyEngine;
  now?: () => number;
}

const dayMs = 86_400_000;

/**
 * The admin protocol module: spend, audit, budgets and policy status for operators. Every request is
 * classified as an `admin` resource (name: spend, audit, budgets or policy; action: read, export,
 * verify or write) and authorized by the same policy as the data plane, so who may review spend or
 * change budgets is a grant in data.json like any other.
 */
export const adminPlugin: FastifyPluginCallback<AdminContext> = (fastify, context, done) => {
  const now = context.now ?? Date.now;

  fastify.addHook("onRequest", (request, _reply, next) => {
    request.exchange.protocol = "admin";
    request.exchange.target = context.target;
    next();
  });

  const authorize = (request: FastifyRequest, name: AdminResource["name"], action: string, facts: Record<string, string | number | boolean | null> = {}) => {
    request.server.authorizer.authorize(request.exchange, { kind: "admin", name, action }, facts);
  };

  const auditOf = (): AuditService => {
    if (context.audit === undefined) throw new TollgateError("TG_ERR_UNAVAILABLE", "The audit trail is turned off on this gateway (audit.enabled: false).", { reason: "admin.audit_disabled" });
    return context.audit;
  };
  const budgetsOf = (): BudgetAdmin => {
    if (context.budgets === undefined) throw new TollgateError("TG_ERR_UNAVAILABLE", "Budgets are not available on this gateway.", { reason: "admin.budgets_unavailable" });
    return context.budgets;
  };

  fastify.get("/spend", async (request, reply) => {
    const query = request.query as QueryValues;
    const by = oneOf(query, "by", spendDimensions) ?? "agent";
    authorize(request, "spend", "read", { by });
    const range = timeRange(query, now(), 30 * dayMs);
    const format = oneOf(query, "format", ["json", "csv"] as const) ?? "json";
    const report = await spendReport(auditOf().database.pool, {
      by,
      from: range.from as Date,
      to: range.to ?? new Date(now()),
      ...filters(query),
    });
    if (format === "csv") return reply.type("text/csv; charset=utf-8").send(spendCsv(report));
    return report;
  });

  fastify.get("/spend/top", async (request) => {
    const query = request.query as QueryValues;
    const by = oneOf(query, "by", spendDimensions) ?? "agent";
    authorize(request, "spend", "read", { by });
    const range = timeRange(query, now(), 30 * dayMs);
    return spendReport(auditOf().database.pool, {
      by,
      from: range.from as Date,
      to: range.to ?? new Date(now()),
      top: integer(query, "limit", 1, 1000) ?? 10,
      ...filters(query),
    });
  });

  fastify.get("/audit/events", async (request) => {
    authorize(request, "audit", "read");
    const search = auditSearch(request.query as QueryValues, now());
    try {
      return await searchAudit(auditOf().database.pool, search);
    } catch (error) {
      if (error instanceof CursorError) throw badQuery("cursor", error.message);
      throw error;
    }
  });

  fastify.get("/audit/export", async (request, reply) => {
    authorize(request, "audit", "export");
    const { limit: _limit, cursor: _cursor, ...search } = auditSearch(request.query as QueryValues, now());
    const rows = exportAudit(auditOf().database.pool, search);
    const lines = Readable.from(
      (async function* () {
        for await (const row of rows) yield `${JSON.stringify(row)}\n`;
      })(),
    );
    return reply.type("application/x-ndjson").send(lines);
  });

  fastify.post("/audit/verify", async (request) => {
    authorize(request, "audit", "verify");
    const chain = text((request.query as QueryValues) ?? {}, "chain", 256);
    const audit = auditOf();
    // What is queued now is written first, so the answer covers every request finished before it.
    await audit.writer.flushAll();
    return verifyAuditChains(audit.database.pool, chain === undefined ? {} : { chain });
  });

  fastify.get("/audit/status", async (request) => {
    authorize(request, "audit", "read");
    return auditOf().status();
  });

  fastify.get("/budgets", async (request) => {
    authorize(request, "budgets", "read");
    const query = request.query as QueryValues;
    const budget = text(query, "budget", 64);
    const subject = text(query, "subject", 2048);
    const admin = budgetsOf();
    const [definitions, status] = await Promise.all([
      admin.definitions(),
      admin.status({ ...(budget === undefined ? {} : { budget }), ...(subject === undefined ? {} : { subject }) }),
    ]);
    return { definitions, status };
  });

  fastify.put("/budgets/:name", async (request) => {
    const { name } = request.params as { name: string };
    authorize(request, "budgets", "write", { budget: name });
    const limits = budgetLimits(request.body);
    return budgetCall(() => budgetsOf().setLimits(name, limits));
  });

  fastify.delete("/budgets/:name", async (request) => {
    const { name } = request.params as { name: string };
    authorize(request, "budgets", "write", { budget: name });
    return budgetCall(() => budgetsOf().resetLimits(name));
  });

  fastify.get("/policy", async (request) => {
    authorize(request, "policy", "read");
    return context.engine.status();
  });

  fastify.setErrorHandler((thrown, request, reply) => sendError(request, reply, asTollgateError(thrown)));
  fastify.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new TollgateError("TG_ERR_UNCLASSIFIED", `${request.method} ${request.exchange.path} is not an admin API operation.`, { reason: "route.unclassified" })),
  );
  done();
};

function sendError(request: FastifyRequest, reply: FastifyReply, error: TollgateError): void {
  void errorReply(request, reply, error)?.send(adminErrorBody(error, request.exchange.id));
}

function filters(query: QueryValues): { caller?: string; team?: string; model?: string; provider?: string } {
  const result: { caller?: string; team?: string; model?: string; provider?: string } = {};
  for (const [param, field] of [
    ["agent", "caller"],
    ["team", "team"],
    ["model", "model"],
    ["provider", "provider"],
  ] as const) {
    const value = text(query, param);
    if (value !== undefined) result[field] = value;
  }
  return result;
}

function auditSearch(query: QueryValues, now: number): AuditSearch {
  const range = timeRange(query, now, undefined);
  const search: AuditSearch = { limit: integer(query, "limit", 1, 1000) ?? 100, order: oneOf(query, "order", ["desc", "asc"] as const) ?? "desc" };
  const caller = text(query, "agent");
  if (caller !== undefined) search.caller = caller;
  const team = text(query, "team");
  if (team !== undefined) search.team = team;
  const model = text(query, "model");
  if (model !== undefined) search.model = model;
  const decision = oneOf(query, "decision", ["allow", "deny", "none"] as const);
  if (decision !== undefined) search.decision = decision;
  const kind = oneOf(query, "kind", ["model", "tool", "resource", "prompt", "collection", "admin"] as const);
  if (kind !== undefined) search.kind = kind;
  const outcome = oneOf(query, "outcome", ["ok", "denied", "rejected", "upstream_error", "aborted", "error"] as const);
  if (outcome !== undefined) search.outcome = outcome;
  const protocol = oneOf(query, "protocol", ["llm", "mcp", "vector", "admin"] as const);
  if (protocol !== undefined) search.protocol = protocol;
  const requestId = text(query, "request_id", 128);
  if (requestId !== undefined) search.requestId = requestId;
  if (range.from !== undefined) search.from = range.from;
  if (range.to !== undefined) search.to = range.to;
  const cursor = text(query, "cursor", 1024);
  if (cursor !== undefined) search.cursor = cursor;
  return search;
}

const usdAmount = z.union([z.string(), z.number().nonnegative()]);
const count = z.number().int().positive();
const budgetLimitsBody = z
  .strictObject({
    cost_usd: usdAmount.optional(),
    input_tokens: count.optional(),
    output_tokens: count.optional(),
    total_tokens: count.optional(),
    requests: count.optional(),
    requests_per_minute: count.optional(),
    tokens_per_minute: count.optional(),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), { message: "give at least one limit" });

/** A budget's new limits as operators write them (USD as decimal text), as the budget stage takes them (micro-dollars). */
function budgetLimits(body: unknown): BudgetLimitValues {
  const parsed = budgetLimitsBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TollgateError("TG_ERR_BAD_REQUEST", `The limits are not valid: ${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`, { reason: "admin.bad_limits" });
  }
  const limits: BudgetLimitValues = {};
  const value = parsed.data;
  if (value.cost_usd !== undefined) {
    try {
      limits.costMicroUsd = parseUsdToMicros(value.cost_usd);
    } catch (error) {
      throw new TollgateError("TG_ERR_BAD_REQUEST", `cost_usd: ${(error as Error).message}`, { reason: "admin.bad_limits", param: "cost_usd" });
    }
  }
  if (value.input_tokens !== undefined) limits.inputTokens = value.input_tokens;
  if (value.output_tokens !== undefined) limits.outputTokens = value.output_tokens;
  if (value.total_tokens !== undefined) limits.totalTokens = value.total_tokens;
  if (value.requests !== undefined) limits.requests = value.requests;
  if (value.requests_per_minute !== undefined) limits.requestsPerMinute = value.requests_per_minute;
  if (value.tokens_per_minute !== undefined) limits.tokensPerMinute = value.tokens_per_minute;
  return limits;
}

/** The budget stage says "no such budget" or "bad limits" with a RangeError: the operator's mistake, not ours. */
async function budgetCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RangeError) {
      const unknown = /no budget is named/.test(error.message);
      throw new TollgateError("TG_ERR_BAD_REQUEST", error.message, { status: unknown ? 404 : 400, reason: unknown ? "admin.unknown_budget" : "admin.bad_limits" });
    }
    throw error;
  }
}

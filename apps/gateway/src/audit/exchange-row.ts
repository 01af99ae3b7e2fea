import { isSpanContextValid } from "@opentelemetry/api";
import type { Exchange } from "../gate/exchange.ts";
import { assertNever, type Resource } from "../gate/resource.ts";
import type { AuditRow } from "./audit-row.ts";
import type { TeamResolver } from "./team-resolver.ts";

/** Longest a name-like field is stored (a model name comes from the caller's body and could be anything). */
const maxName = 512;
const maxPath = 2048;
const maxReason = 2048;

/**
 * The audit row of a finished exchange. Everything here comes from what the stages already recorded
 * on the exchange; nothing is computed again (cost is the budget stage's, priced when the request
 * was made). Text that came from the caller is made storable: PostgreSQL text cannot hold NUL, JSON
 * cannot hold lone surrogates, and sizes are capped, so no request can produce a row the database
 * refuses.
 */
export function exchangeRow(exchange: Exchange, teams: TeamResolver, capture: Record<string, unknown> | null): AuditRow {
  const caller = exchange.caller?.id.uri ?? null;
  const resource = exchange.resource;
  const usage = exchange.usage;
  const named = resource === undefined ? undefined : resourceColumns(resource);
  const detail: Record<string, unknown> = { ...named?.detail };
  if (exchange.upstream?.model !== undefined) detail.upstream_model = storable(exchange.upstream.model, maxName);
  if (usage?.cacheWriteInput !== undefined) detail.cache_write_input_tokens = usage.cacheWriteInput;
  const reasons = exchange.decision?.reasons ?? [];
  // A refusal after the policy allowed (a budget, say) has reasons of its own.
  const errorReasons = exchange.error?.reasons ?? [];
  if (errorReasons.length > 0 && !sameReasons(errorReasons, reasons)) {
    detail.error_reasons = errorReasons.map((reason) => storable(reason, maxReason));
  }
  return {
    request_id: storable(exchange.id, 128),
    occurred_at: exchange.receivedAt.toISOString(),
    trace_id: traceIdOf(exchange),
    protocol: exchange.protocol,
    method: storable(exchange.method, 32),
    path: storable(exchange.path, maxPath),
    caller,
    auth_method: exchange.caller?.auth ?? null,
    team: teams.teamOf(caller),
    target: exchange.target ?? null,
    resource_kind: resource?.kind ?? null,
    resource_name: named === undefined ? null : storable(named.name, maxName),
    resource_action: named === undefined ? null : storable(named.action, 128),
    decision: exchange.decision === undefined ? null : exchange.decision.allow ? "allow" : "deny",
    reasons: reasons.map((reason) => storable(reason, maxReason)),
    policy_revision: exchange.decision?.revision ?? null,
    provider: exchange.upstream?.provider ?? (resource?.kind === "model" ? (resource.provider ?? null) : null),
    model: modelOf(exchange),
    attempts: exchange.upstream?.attempts ?? 0,
    status: exchange.status,
    outcome: exchange.outcome ?? "error",
    error_code: exchange.error?.code ?? null,
    error_reason: exchange.error === undefined ? null : storable(exchange.error.reason, 256),
    latency_us: Math.max(0, Math.round(exchange.durationMs * 1000)),
    input_tokens: usage?.input ?? 0,
    output_tokens: usage?.output ?? 0,
    cached_input_tokens: usage?.cachedInput ?? 0,
    reasoning_tokens: usage?.reasoning ?? 0,
    cost_micro_usd: exchange.cost?.microUsd ?? 0,
    price_id: exchange.cost?.priceId ?? null,
    detail,
    capture,
  };
}

/** The model spend is reported under: the name the caller asked for (the route), else the upstream's. */
function modelOf(exchange: Exchange): string | null {
  const resource = exchange.resource;
  if (resource?.kind === "model" && resource.name !== "") return storable(resource.name, maxName);
  const upstream = exchange.upstream?.model;
  return upstream === undefined ? null : storable(upstream, maxName);
}

function resourceColumns(resource: Resource): { name: string; action: string; detail: Record<string, unknown> } {
  switch (resource.kind) {
    case "model":
    case "admin":
      return { name: resource.name, action: resource.action, detail: {} };
    case "tool":
    case "resource":
    case "prompt":
      return {
        name: resource.name,
        action: resource.action,
        detail: {
          server: storable(resource.server, maxName),
          ...(resource.method === undefined ? {} : { method: storable(resource.method, maxName) }),
        },
      };
    case "collection":
      return { name: resource.name, action: resource.action, detail: { database: storable(resource.database, maxName) } };
    default:
      return assertNever(resource);
  }
}

function sameReasons(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((reason, i) => reason === b[i]);
}

function traceIdOf(exchange: Exchange): string | null {
  const context = exchange.span?.spanContext();
  return context !== undefined && isSpanContextValid(context) ? context.traceId : null;
}

/** Text PostgreSQL and JSON both accept, at most `max` UTF-16 units long. */
export function storable(text: string, max: number): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  // toWellFormed replaces lone surrogates (a cut can make one too); NUL is the one character text refuses.
  const wellFormed = cut.toWellFormed();
  return wellFormed.includes("\u0000") ? wellFormed.replaceAll("\u0000", "\uFFFD") : wellFormed;
}

/** Audit rows for tests and the benchmark: realistic, varied, and each with a fresh request id. */
import { randomUUID } from "node:crypto";
import type { AuditRow } from "./audit-row.ts";

export const sampleAgents = [
  "spiffe://ai.company.org/agent/customer-support/v2",
  "spiffe://ai.company.org/agent/code-review/v1",
  "spiffe://ai.company.org/pipeline/training/job-abc",
] as const;

export function sampleRow(overrides: Partial<AuditRow> = {}): AuditRow {
  const caller = overrides.caller === undefined ? sampleAgents[0] : overrides.caller;
  return {
    request_id: randomUUID(),
    occurred_at: new Date().toISOString(),
    trace_id: null,
    protocol: "llm",
    method: "POST",
    path: "/v1/chat/completions",
    caller,
    auth_method: caller === null ? null : "x509-svid",
    team: caller === null ? null : caller.slice(0, caller.lastIndexOf("/")),
    target: "spiffe://ai.company.org/service/llm-proxy",
    resource_kind: "model",
    resource_name: "gpt-4o-mini",
    resource_action: "chat",
    decision: "allow",
    reasons: ["allowed by grant customer-support-chat"],
    policy_revision: "rev-1",
    provider: "openai",
    model: "gpt-4o-mini",
    attempts: 1,
    status: 200,
    outcome: "ok",
    error_code: null,
    error_reason: null,
    latency_us: 1234,
    input_tokens: 100,
    output_tokens: 20,
    cached_input_tokens: 0,
    reasoning_tokens: 0,
    cost_micro_usd: 27,
    price_id: "gpt-4o-mini@0123abcd",
    detail: { upstream_model: "gpt-4o-mini-2024-07-18" },
    capture: null,
    ...overrides,
  };
}
